namespace ParallelFlow.Engine.Execution;

/// <summary>
/// Records a run as it goes, so that it can be resumed after a crash: every attempt when it starts, and every task
/// that ran when it ends, with its output. Calls come from the tasks' own threads, several at once; a task is
/// reported finished to the scheduler only after <see cref="TaskFinished"/> returns, so a recorded success is never
/// lost. An exception thrown here is logged and does not stop the run.
/// </summary>
public interface IRunJournal
{
    /// <summary>An attempt of a task starts.</summary>
    void AttemptStarted(string runId, string taskId, int attempt, DateTimeOffset at);

    /// <summary>A task that ran has ended, with its final status, attempts, times and, when it succeeded, its output.</summary>
    void TaskFinished(string runId, TaskRunResult task);
}
