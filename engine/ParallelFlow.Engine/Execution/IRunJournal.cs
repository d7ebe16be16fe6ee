namespace ParallelFlow.Engine.Execution;

/// <summary>
/// Records a run as it goes, so that it can be resumed after a crash: every attempt when it starts, and every task
/// that ran when it ends, with its output.
/// </summary>
/// <remarks>
/// <para>The engine groups what it records: <see cref="RecordAsync"/> gets every entry gathered since the last call,
/// in the order they happened, and should write them as one durable unit (one transaction). A task counts as finished
/// — its event is sent, a fail-fast stop is taken, the run can complete — only once the call that holds it has
/// completed, so a recorded success is never lost; its dependents may start earlier, since their entries always come
/// in a later call. One call at a time per run.</para>
/// <para>An exception thrown here is logged and does not stop the run: the batch is tried again with the next one,
/// and after a second failure the journal is given up for the rest of the run.</para>
/// </remarks>
public interface IRunJournal
{
    /// <summary>Records entries as one durable unit.</summary>
    /// <param name="entries">Attempts that started (<see cref="JournalEntry.Finished"/> null) and tasks that finished,
    /// in the order they happened. Valid only until the returned task completes.</param>
    /// <param name="cancellationToken">Not cancelled by the engine while its run goes on; a host's own stop.</param>
    /// <returns>Completes when the entries are durable.</returns>
    ValueTask RecordAsync(IReadOnlyList<JournalEntry> entries, CancellationToken cancellationToken = default);
}
