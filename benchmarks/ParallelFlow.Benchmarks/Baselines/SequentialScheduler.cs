namespace ParallelFlow.Benchmarks.Baselines;

/// <summary>The sequential baseline: every task in a topological order, one at a time.</summary>
public static class SequentialScheduler
{
    public static async Task RunAsync(Graph graph, Func<int, ValueTask> work)
    {
        // Graphs are numbered in a topological order.
        for (var task = 0; task < graph.Count; task++)
        {
            await work(task).ConfigureAwait(false);
        }
    }
}
