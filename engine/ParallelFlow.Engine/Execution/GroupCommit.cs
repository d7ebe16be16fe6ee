namespace ParallelFlow.Engine.Execution;

/// <summary>
/// Group commit for a run's journal. Entries gather while a write is under way; the task that finds no write under
/// way starts the writer, which writes everything gathered, batch after batch, until nothing is left. Many tasks
/// finishing at once share one write.
/// </summary>
/// <remarks>
/// <para>Only the writer touches the lists it took, outside the lock; they come back for reuse with the next take.</para>
/// <para>A batch that fails to write is kept, its tasks not yet counted as finished, and written again ahead of the
/// next batch, in the same transaction; when no new entry comes, it is tried once more on its own. If that fails too,
/// the journal is given up for the rest of the run: nothing more is written, so what was written stays a prefix of
/// what happened — a dependent's entry never durable without its inputs' — and the run goes on.</para>
/// </remarks>
internal sealed class GroupCommit
{
    private readonly Lock _lock = new();
    private List<JournalEntry> _entries = [];
    private List<int> _finished = [];
    private List<JournalEntry> _spareEntries = [];
    private List<int> _spareFinished = [];
    private List<JournalEntry> _failedEntries = [];
    private List<int> _failedFinished = [];
    private bool _retriedAlone;
    private bool _writing;

    /// <summary>Whether the journal was given up after a batch failed twice.</summary>
    public bool GivenUp { get; private set; }

    /// <summary>An attempt started: written with the next batch.</summary>
    public void Add(in JournalEntry entry)
    {
        lock (_lock)
        {
            _entries.Add(entry);
        }
    }

    /// <summary>A task finished. Returns true when the caller must start the writer, which calls <see cref="TryTake"/>
    /// until it returns false.</summary>
    public bool AddFinished(in JournalEntry entry, int task)
    {
        lock (_lock)
        {
            _entries.Add(entry);
            _finished.Add(task);
            if (_writing)
            {
                return false;
            }

            _writing = true;
            return true;
        }
    }

    /// <summary>For the writer: what to write next and the tasks it holds, or false (and no longer the writer) when
    /// nothing is left. <paramref name="lastChance"/> says a failed batch is tried alone, for the last time.</summary>
    public bool TryTake(out List<JournalEntry> entries, out List<int> finished, out bool lastChance)
    {
        lock (_lock)
        {
            _spareEntries.Clear();
            _spareFinished.Clear();
            lastChance = false;
            if (_finished.Count > 0)
            {
                (entries, finished) = (_entries, _finished);
                (_entries, _finished) = (_spareEntries, _spareFinished);
                (_spareEntries, _spareFinished) = (entries, finished);
                if (_failedFinished.Count > 0 || _failedEntries.Count > 0)
                {
                    (entries, finished) = ([.. _failedEntries, .. entries], [.. _failedFinished, .. finished]);
                    (_failedEntries, _failedFinished) = ([], []);
                }

                _retriedAlone = false;
                return true;
            }

            if (_failedFinished.Count > 0 && !_retriedAlone)
            {
                _retriedAlone = true;
                lastChance = true;
                (entries, finished) = (_failedEntries, _failedFinished);
                (_failedEntries, _failedFinished) = ([], []);
                return true;
            }

            _writing = false;
            (entries, finished) = (_spareEntries, _spareFinished);
            return false;
        }
    }

    /// <summary>The batch could not be written: kept whole, with its tasks, to go ahead of the next one.</summary>
    public void Failed(List<JournalEntry> entries, List<int> finished)
    {
        lock (_lock)
        {
            (_failedEntries, _failedFinished) = ([.. entries], [.. finished]);
        }
    }

    /// <summary>A batch failed on its last chance: nothing more is written for this run.</summary>
    public void GiveUp()
    {
        lock (_lock)
        {
            GivenUp = true;
        }
    }

    /// <summary>After an unexpected failure of the writer: lets the next finishing task start another.</summary>
    public void Abandon()
    {
        lock (_lock)
        {
            _writing = false;
        }
    }
}
