namespace ParallelFlow.Engine.Plans;

/// <summary>What earlier runs of a plan measured of one of its tasks: the median of its last successful executions (a
/// cached or restored result is not an execution), so that one slow or fast outlier does not move it.</summary>
/// <param name="Seconds">The median duration, in seconds.</param>
/// <param name="Samples">How many executions it is the median of.</param>
public sealed record LearnedEstimate(double Seconds, int Samples)
{
    /// <summary>The median tokens (input and output) of those executions; null when they used none.</summary>
    public long? Tokens { get; init; }

    /// <summary>The median cost of those executions; null when they cost nothing.</summary>
    public decimal? Cost { get; init; }

    /// <summary>Whether it comes from other tasks of the same worker type (the median of their learned durations) rather
    /// than from the task's own runs: for a task that never ran and has no <c>estimate_seconds</c> of its own.</summary>
    public bool FromWorkerType { get; init; }
}
