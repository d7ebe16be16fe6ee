namespace ParallelFlow.Benchmarks.Baselines;

/// <summary>The <c>Parallel.ForEachAsync</c> baseline: the tasks in a topological order, at most <c>workers</c> at once,
/// each first awaiting its predecessors. A task waits holding its slot, so a slow predecessor can idle workers that
/// a dependency-driven scheduler would give to other ready tasks.</summary>
public static class ParallelForEachScheduler
{
    public static async Task RunAsync(Graph graph, int workers, Func<int, ValueTask> work)
    {
        var done = new TaskCompletionSource[graph.Count];
        for (var i = 0; i < done.Length; i++)
        {
            done[i] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        // Graphs are numbered in a topological order, so every predecessor was taken before its dependents.
        await Parallel.ForEachAsync(Enumerable.Range(0, graph.Count), new ParallelOptions { MaxDegreeOfParallelism = workers }, async (task, _) =>
        {
            foreach (var predecessor in graph.Predecessors[task])
            {
                await done[predecessor].Task.ConfigureAwait(false);
            }

            await work(task).ConfigureAwait(false);
            done[task].SetResult();
        }).ConfigureAwait(false);
    }
}
