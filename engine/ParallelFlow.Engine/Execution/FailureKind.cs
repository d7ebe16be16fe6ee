namespace ParallelFlow.Engine.Execution;

/// <summary>Why a task did not succeed, which decides whether it is retried.</summary>
public enum FailureKind
{
    /// <summary>It did not fail.</summary>
    None = 0,

    /// <summary>An attempt passed its time limit. Retried.</summary>
    Timeout,

    /// <summary>A failure another attempt may not repeat. Retried.</summary>
    Transient,

    /// <summary>A failure retrying cannot fix. Not retried.</summary>
    Fatal,

    /// <summary>The run was cancelled. Not retried.</summary>
    Cancelled,

    /// <summary>A hard dependency did not succeed.</summary>
    Dependency,

    /// <summary>The run's budget could not cover the task, and nothing running could free enough.</summary>
    Budget,

    /// <summary>An attempt reported no progress for the plan's <c>timeouts.worker_heartbeat</c>: taken for stuck and
    /// cancelled. Retried.</summary>
    Stuck,

    /// <summary>The task went over its memory limit (<c>resources.max_memory_mb</c>). Not retried.</summary>
    Memory,
}
