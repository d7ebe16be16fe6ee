namespace ParallelFlow.Engine.Execution;

/// <summary>One attempt of a task: when it ran, on which worker slot, and how it ended. Kept when the run records
/// attempts (<see cref="RunOptions.RecordAttempts"/>), for timelines.</summary>
/// <param name="Attempt">The attempt's number, 1 for the first.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="EndedAt">When it ended.</param>
/// <param name="Slot">The worker slot (1-based) that ran it; 0 when unknown.</param>
/// <param name="Status">How it ended: <see cref="TaskRunStatus.Failed"/> or <see cref="TaskRunStatus.TimedOut"/> for an
/// attempt another followed; the task's final status for its last attempt.</param>
/// <param name="Error">What went wrong, for an attempt that did not succeed.</param>
/// <param name="RetryDelay">The wait before the next attempt, for an attempt another followed.</param>
public sealed record TaskAttempt(int Attempt, DateTimeOffset StartedAt, DateTimeOffset EndedAt, int Slot, TaskRunStatus Status, string? Error = null, TimeSpan? RetryDelay = null);
