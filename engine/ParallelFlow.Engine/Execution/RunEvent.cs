namespace ParallelFlow.Engine.Execution;

/// <summary>Something that happened in a run.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Time">When.</param>
/// <param name="TaskId">The task, for task events.</param>
/// <param name="WorkerType">The task's worker type, for task and worker events.</param>
/// <param name="Worker">The worker slot (1-based), for started, busy and idle events.</param>
/// <param name="Attempt">The attempt number, for started, retrying and finished events.</param>
/// <param name="Status">The final status, for finished events.</param>
/// <param name="Message">The error for failed tasks and retries; a summary for run events.</param>
/// <param name="Delay">The wait before the next attempt, for retrying events.</param>
public sealed record RunEvent(
    RunEventKind Kind,
    DateTimeOffset Time,
    string? TaskId = null,
    string? WorkerType = null,
    int Worker = 0,
    int Attempt = 0,
    TaskRunStatus? Status = null,
    string? Message = null,
    TimeSpan? Delay = null);
