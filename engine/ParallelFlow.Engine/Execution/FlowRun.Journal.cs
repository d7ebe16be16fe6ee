namespace ParallelFlow.Engine.Execution;

/// <summary>The run's journal: attempts and finished tasks, written by group commit (see <see cref="GroupCommit"/>).</summary>
public sealed partial class FlowRun
{
    /// <summary>
    /// Ends a task of a journaled run. Its worker is free at once, but the task counts as finished — its event, the
    /// finished count, a fail-fast stop, the run's completion — only once its entry is durable (group commit, see
    /// <see cref="GroupCommit"/>). A succeeded task's dependents may start before that, as in a database's early lock
    /// release: entries are written in the order they came, one batch after another, so an entry of a dependent is
    /// never durable before its inputs' entries; a crash loses only what was in flight, and a resumed run never holds
    /// a result without the results it was computed from. The writing runs on a thread-pool thread of its own, never in
    /// an execution block, whose slots belong to the tasks the scheduler counts.
    /// </summary>
    private int FinishJournaled(int task, int group)
    {
        var entry = new JournalEntry(RunId, _plan.Tasks[task].Id, _tasks.Attempts[task], _context.TimeProvider.GetUtcNow(), TaskResultOf(task));
        StepOutcome outcome;
        bool writer;
        lock (_gate)
        {
            // Queued under the gate, before the step releases any dependent: a dependent's entry always comes after
            // this one, and the writer cannot make this task durable (which takes the gate) before it is released.
            writer = _commit!.AddFinished(entry, task);
            outcome = Step(new StepMessage(StepKind.Released, task), group);
        }

        StartOutside(outcome);
        if (outcome.Stopped)
        {
            CancelWorkers();
        }

        PublishOutcome();
        if (writer)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static run => _ = run.WriteJournalAsync(), this, preferLocal: false);
        }

        return outcome.InlineTask;
    }

    /// <summary>The journal's writer: writes batches until none is left, then makes their tasks count as finished. A
    /// batch that fails waits for the next (see <see cref="GroupCommit"/>); one that fails twice gives the journal up,
    /// and its tasks count as finished unwritten. Whatever happens, the writer role is given back, so a run never waits
    /// for ever on its journal.</summary>
    private async Task WriteJournalAsync()
    {
        var commit = _commit!;
        try
        {
            while (commit.TryTake(out var entries, out var finished, out var lastChance))
            {
                if (!commit.GivenUp)
                {
                    try
                    {
                        await _journal!.RecordAsync(entries).ConfigureAwait(false);
                    }
#pragma warning disable CA1031 // The journal is a record of the run; its failure is logged, and the run goes on.
                    catch (Exception ex)
#pragma warning restore CA1031
                    {
                        LogJournalFailure(entries, ex);
                        if (!lastChance)
                        {
                            commit.Failed(entries, finished);
                            continue;
                        }

                        commit.GiveUp();
                    }
                }

                TakeStep(new StepMessage(StepKind.Durable, Tasks: finished), -1);
            }
        }
#pragma warning disable CA1031 // Nothing below throws by design (a step never does); should it, the run must not wait on a writer that is gone.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            commit.Abandon();
            LogJournalFailure([], ex);
        }
    }

    private void LogJournalFailure(List<JournalEntry> entries, Exception exception)
    {
        try
        {
            var tasks = string.Join(", ", entries.Where(e => e.Finished is not null).Select(e => e.TaskId).Distinct(StringComparer.Ordinal).Take(5));
            _context.Log.JournalFailed(RunId, tasks, _context.Secrets.Redact(exception.Message));
        }
#pragma warning disable CA1031 // A host's logger failing must not stop the writer.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
