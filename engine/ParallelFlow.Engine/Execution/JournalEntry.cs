namespace ParallelFlow.Engine.Execution;

/// <summary>One thing a run journal records: an attempt that started, or a task that finished.</summary>
/// <param name="RunId">The run.</param>
/// <param name="TaskId">The task.</param>
/// <param name="Attempt">The attempt's number (1 for the first); for a finished task, its attempts.</param>
/// <param name="At">When the attempt started, or when the task finished.</param>
/// <param name="Finished">The finished task's result; null for an attempt that started.</param>
public readonly record struct JournalEntry(string RunId, string TaskId, int Attempt, DateTimeOffset At, TaskRunResult? Finished);
