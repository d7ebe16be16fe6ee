namespace ParallelFlow.Engine.Execution;

/// <summary>What a <see cref="RunEvent"/> reports.</summary>
public enum RunEventKind
{
    /// <summary>The run started.</summary>
    RunStarted,

    /// <summary>A task's dependencies are done; it waits for a worker.</summary>
    TaskQueued,

    /// <summary>A task began its first attempt.</summary>
    TaskStarted,

    /// <summary>An attempt failed and another follows after a delay.</summary>
    TaskRetrying,

    /// <summary>A running task reported progress (<c>TaskRequest.Progress</c>): a line of output, a step done.</summary>
    TaskOutput,

    /// <summary>A task reached a final status.</summary>
    TaskFinished,

    /// <summary>A worker slot took a task.</summary>
    WorkerBusy,

    /// <summary>A worker slot has nothing to do.</summary>
    WorkerIdle,

    /// <summary>The run ended.</summary>
    RunFinished,

    /// <summary>The executor running an attempt of the task was lost (its silo died or left); the attempt was sent
    /// again to another one. Not a retry: the task's attempts are unchanged. <see cref="RunEvent.Message"/> says why.</summary>
    TaskRequeued,

    /// <summary>The adaptive pool changed its size, or held back (or released) new tasks for the engine's memory limit.
    /// <see cref="RunEvent.Worker"/> is the new size; <see cref="RunEvent.Message"/> says from what and why.</summary>
    PoolResized,
}
