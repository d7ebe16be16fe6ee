namespace ParallelFlow.Engine.Execution;

/// <summary>One finished task in a worker type's history.</summary>
/// <param name="TaskId">The task.</param>
/// <param name="Status">How it ended.</param>
/// <param name="Duration">How long it took.</param>
/// <param name="Error">What went wrong, if it did not succeed.</param>
public sealed record TaskHistoryEntry(string TaskId, TaskRunStatus Status, TimeSpan Duration, string? Error);
