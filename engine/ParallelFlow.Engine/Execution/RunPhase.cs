namespace ParallelFlow.Engine.Execution;

/// <summary>Where a run is in its life. Moves only forward:
/// <c>Created → Running → Stopping → Finished → Published</c>, skipping <c>Running</c> or <c>Stopping</c> where
/// nothing happens in them. Every move but the last is made under the run's gate, in a scheduling step.</summary>
internal enum RunPhase
{
    /// <summary>Built, not begun: no task is ready yet.</summary>
    Created,

    /// <summary>Ready tasks are handed to workers as the limits allow.</summary>
    Running,

    /// <summary>A stop was requested, or the run failed fast: no task starts any more, ready ones ended cancelled, and
    /// the run waits for its running tasks (and their journal entries) to come back.</summary>
    Stopping,

    /// <summary>Every task is final and the result is built (or the scheduler failed and the fault is kept); nothing
    /// changes any more.</summary>
    Finished,

    /// <summary><see cref="FlowRun.Completion"/> has its result. The one move made outside the gate, once, by whichever
    /// thread ends the run (see <c>FlowRun.PublishOutcome</c>).</summary>
    Published,
}

/// <summary>Why a run stopped before every task ran. The first reason wins.</summary>
internal enum StopReason
{
    /// <summary>Not stopped.</summary>
    None,

    /// <summary>The caller cancelled (<see cref="FlowRun.Cancel"/> or its token): the run ends cancelled.</summary>
    Cancelled,

    /// <summary>The run's wall-time budget ran out: the run ends cancelled.</summary>
    WallTime,

    /// <summary>A task did not succeed under <c>on_failure: fail_fast</c>: the run ends failed.</summary>
    FailedFast,
}
