namespace ParallelFlow.Engine.Execution;

/// <summary>Where a task stands in a run. Every task ends in one of the final statuses.</summary>
public enum TaskRunStatus
{
    /// <summary>Not started yet.</summary>
    Pending = 0,

    /// <summary>Holding a worker.</summary>
    Running,

    /// <summary>Final: produced a result.</summary>
    Succeeded,

    /// <summary>Final: its last attempt threw.</summary>
    Failed,

    /// <summary>Final: its last attempt passed its time limit.</summary>
    TimedOut,

    /// <summary>Final: the run was cancelled (or failed fast) before or while it ran.</summary>
    Cancelled,

    /// <summary>Final: a hard dependency did not succeed, so it never ran.</summary>
    Skipped,

    /// <summary>Final: its result came from the cache.</summary>
    Cached,
}
