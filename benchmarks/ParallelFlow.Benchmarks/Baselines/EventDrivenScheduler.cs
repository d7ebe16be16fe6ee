using System.Threading.Channels;

namespace ParallelFlow.Benchmarks.Baselines;

/// <summary>The hand-written baseline: an event-driven scheduler with a channel of ready tasks, a fixed set of worker
/// loops, and atomic dependency counters. No priorities, limits, retries, timeouts, statuses or events: the least a
/// correct dependency-driven scheduler does.</summary>
public static class EventDrivenScheduler
{
    public static async Task RunAsync(Graph graph, int workers, Func<int, ValueTask> work)
    {
        var remaining = graph.Predecessors.Select(p => p.Length).ToArray();
        var ready = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
        var finished = 0;
        for (var i = 0; i < graph.Count; i++)
        {
            if (remaining[i] == 0)
            {
                ready.Writer.TryWrite(i);
            }
        }

        async Task WorkerLoop()
        {
            await foreach (var task in ready.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                await work(task).ConfigureAwait(false);
                foreach (var next in graph.Successors[task])
                {
                    if (Interlocked.Decrement(ref remaining[next]) == 0)
                    {
                        ready.Writer.TryWrite(next);
                    }
                }

                if (Interlocked.Increment(ref finished) == graph.Count)
                {
                    ready.Writer.TryComplete();
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(WorkerLoop))).ConfigureAwait(false);
    }
}
