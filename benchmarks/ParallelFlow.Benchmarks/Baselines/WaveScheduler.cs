namespace ParallelFlow.Benchmarks.Baselines;

/// <summary>The level-by-level baseline: run every task of a wave with <c>Task.WhenAll</c>, then the next wave.
/// Each task runs on the thread pool, as it would in the engine.</summary>
public static class WaveScheduler
{
    public static async Task RunAsync(Graph graph, Func<int, ValueTask> work)
    {
        foreach (var level in graph.Levels)
        {
            var tasks = new Task[level.Length];
            for (var i = 0; i < level.Length; i++)
            {
                var task = level[i];
                tasks[i] = Task.Run(() => work(task).AsTask());
            }

            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
    }
}
