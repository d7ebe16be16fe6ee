namespace ParallelFlow.Benchmarks.Baselines;

/// <summary>The level-by-level baseline: run every task of a wave with <c>Task.WhenAll</c>, then the next wave.
/// Each task runs on the thread pool, as it would in the engine; with a worker count, at most that many at once.</summary>
public static class WaveScheduler
{
    public static async Task RunAsync(Graph graph, Func<int, ValueTask> work, int workers = int.MaxValue)
    {
        using var slots = workers == int.MaxValue ? null : new SemaphoreSlim(workers);
        foreach (var level in graph.Levels)
        {
            var tasks = new Task[level.Length];
            for (var i = 0; i < level.Length; i++)
            {
                var task = level[i];
                tasks[i] = slots is null ? Task.Run(() => work(task).AsTask()) : Task.Run(async () =>
                {
                    await slots.WaitAsync().ConfigureAwait(false);
                    try
                    {
                        await work(task).ConfigureAwait(false);
                    }
                    finally
                    {
                        slots.Release();
                    }
                });
            }

            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
    }
}
