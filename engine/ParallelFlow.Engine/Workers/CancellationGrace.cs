namespace ParallelFlow.Engine.Workers;

/// <summary>
/// Waiting for a worker that was told to stop. A cancelled or timed-out call does not end the moment its token fires:
/// the worker gets a grace period to return (the process worker kills its process tree then), so that a run never
/// completes — and a command never exits — with work still going on behind it. A worker that ignores its token is
/// abandoned when the grace period ends, and the caller is told.
/// </summary>
internal static class CancellationGrace
{
    /// <summary>The grace period when none is configured.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(5);

    /// <summary>Awaits a worker's call. Once <paramref name="cancellationToken"/> fires, waits up to
    /// <paramref name="grace"/> for the call to end, whatever it ends with, then throws the cancellation.</summary>
    /// <param name="pending">The worker's call.</param>
    /// <param name="grace">How long to wait for the call once cancelled.</param>
    /// <param name="time">The clock the grace period runs on.</param>
    /// <param name="onAbandoned">Called when the grace period ends with the call still running.</param>
    /// <param name="state">Passed to <paramref name="onAbandoned"/>.</param>
    /// <param name="cancellationToken">The token the worker was given.</param>
    public static async Task<T> AwaitAsync<T, TState>(Task<T> pending, TimeSpan grace, TimeProvider time,
        Action<TState>? onAbandoned, TState state, CancellationToken cancellationToken)
    {
        try
        {
            return await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !pending.IsCompleted)
        {
            try
            {
                await pending.WaitAsync(grace, time, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Whatever the abandoned call ends with later must not surface as an unobserved exception.
                _ = pending.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                onAbandoned?.Invoke(state);
            }
#pragma warning disable CA1031 // How a cancelled call ends (its own cancellation, a failure while stopping) changes nothing: it was cancelled.
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            throw;
        }
    }
}
