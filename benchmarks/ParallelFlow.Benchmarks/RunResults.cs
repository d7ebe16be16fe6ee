using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Benchmarks;

/// <summary>How a benchmark ends a run whose result it does not read: it disposes the result, as a caller that runs a
/// plan over and over should, so the plan's next run takes the run's per-task arrays again (<see cref="RunResult.Dispose"/>).</summary>
internal static class RunResults
{
    /// <summary>The run's status; its result disposed.</summary>
    public static async Task<RunStatus> StatusAsync(this Task<RunResult> run)
    {
        using var result = await run.ConfigureAwait(false);
        return result.Status;
    }
}
