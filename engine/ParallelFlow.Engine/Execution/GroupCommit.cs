namespace ParallelFlow.Engine.Execution;

/// <summary>
/// Group commit for a run's journal. Entries gather while a write is under way; the task that finds no write under
/// way becomes the writer and writes everything gathered, batch after batch, until nothing is left. A chain of tasks
/// thus pays one write per task on its own thread, with no hand-off, and many tasks finishing at once share one.
/// </summary>
/// <remarks>Only the writer touches the lists it took, outside the lock; they come back for reuse with the next take.</remarks>
internal sealed class GroupCommit
{
    private readonly Lock _lock = new();
    private List<JournalEntry> _entries = [];
    private List<int> _finished = [];
    private List<JournalEntry> _spareEntries = [];
    private List<int> _spareFinished = [];
    private bool _writing;

    /// <summary>An attempt started: written with the next batch.</summary>
    public void Add(in JournalEntry entry)
    {
        lock (_lock)
        {
            _entries.Add(entry);
        }
    }

    /// <summary>A task finished. Returns true when the caller is now the writer and must call <see cref="TryTake"/>
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

    /// <summary>For the writer: what to write next, or false (and no longer the writer) when no task waits.</summary>
    public bool TryTake(out List<JournalEntry> entries, out List<int> finished)
    {
        lock (_lock)
        {
            _spareEntries.Clear();
            _spareFinished.Clear();
            if (_finished.Count == 0)
            {
                _writing = false;
                (entries, finished) = (_spareEntries, _spareFinished);
                return false;
            }

            (entries, finished) = (_entries, _finished);
            (_entries, _finished) = (_spareEntries, _spareFinished);
            (_spareEntries, _spareFinished) = (entries, finished);
            return true;
        }
    }
}
