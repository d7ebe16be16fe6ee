namespace ParallelFlow.Engine.Execution;

/// <summary>
/// Records a run as it goes, so that it can be resumed after a crash: every attempt when it starts, and every task
/// that ran when it ends, with its output.
/// </summary>
/// <remarks>
/// <para>The engine groups what it records: <see cref="Record"/> gets every entry gathered since the last call, in the
/// order they happened, and should write them as one durable unit (one transaction). A task counts as finished — its
/// dependents start, its event is sent, the run can complete — only once the call that holds it has returned, so a
/// recorded success is never lost and nothing that depended on an unrecorded one ran. One call at a time per run.</para>
/// <para>An exception thrown here is logged and does not stop the run.</para>
/// </remarks>
public interface IRunJournal
{
    /// <summary>An attempt of a task starts.</summary>
    void AttemptStarted(string runId, string taskId, int attempt, DateTimeOffset at);

    /// <summary>A task that ran has ended, with its final status, attempts, times and, when it succeeded, its output.</summary>
    void TaskFinished(string runId, TaskRunResult task);

    /// <summary>Records several entries as one durable unit. The default records them one by one.</summary>
    /// <param name="entries">Attempts that started and tasks that finished, in the order they happened.</param>
    void Record(IReadOnlyList<JournalEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var entry in entries)
        {
            if (entry.Finished is { } task)
            {
                TaskFinished(entry.RunId, task);
            }
            else
            {
                AttemptStarted(entry.RunId, entry.TaskId, entry.Attempt, entry.At);
            }
        }
    }
}
