using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// The cache lookup around a task's execution: a stored result stands in for executing, and identical tasks in flight
/// at once — in one run or in several sharing a cache — execute once, the others taking the first one's result.
/// </summary>
internal sealed class SingleFlight(ITaskCache cache)
{
    private static readonly ConditionalWeakTable<ITaskCache, SingleFlight> Instances = [];
    private readonly ConcurrentDictionary<string, Task<TaskResult>> _inFlight = new(StringComparer.Ordinal);

    public static SingleFlight For(ITaskCache cache) => Instances.GetValue(cache, c => new SingleFlight(c));

    /// <summary>The result and whether it came from the cache or another execution (true) or from running (false).</summary>
    public async ValueTask<(TaskResult Result, bool Cached)> RunAsync(TaskCacheKey key, TimeSpan? timeToLive, string runId, string taskId, Func<ValueTask<TaskResult>> execute, CancellationToken cancellationToken)
    {
        if (await cache.FindAsync(key, timeToLive, cancellationToken).ConfigureAwait(false) is { } stored)
        {
            return (stored, true);
        }

        var leader = new TaskCompletionSource<TaskResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_inFlight.TryAdd(key.Hash, leader.Task) && _inFlight.TryGetValue(key.Hash, out var running))
        {
            try
            {
                return (await running.WaitAsync(cancellationToken).ConfigureAwait(false), true);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // The first execution failed: this task tries on its own, with its own retries.
                return (await execute().ConfigureAwait(false), false);
            }
        }

        try
        {
            // A flight for the same key may have stored its result and ended between the lookup above and taking the
            // lead here: look again before executing, so that it does not execute twice.
            if (await cache.FindAsync(key, timeToLive, cancellationToken).ConfigureAwait(false) is { } storedMeanwhile)
            {
                leader.SetResult(storedMeanwhile);
                return (storedMeanwhile, true);
            }

            var result = await execute().ConfigureAwait(false);
            // Not the run's token: a result computed is kept, even when the run is cancelled right after.
            await cache.StoreAsync(key, result, runId, taskId, CancellationToken.None).ConfigureAwait(false);
            leader.SetResult(result);
            return (result, false);
        }
        catch (Exception ex)
        {
            leader.SetException(ex);
            _ = leader.Task.Exception; // observed here; followers see it through WaitAsync
            throw;
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, Task<TaskResult>>(key.Hash, leader.Task));
        }
    }
}
