using System.Diagnostics;

namespace ParallelFlow.Engine.Execution;

/// <summary>The settings of a <see cref="ParallelFlowPool"/>.</summary>
public sealed class PoolOptions
{
    /// <summary>How many tasks may run at once across every run of the pool.</summary>
    /// <value>The processor count.</value>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>The most tasks of one worker type that may run at once across every run, by worker type (an
    /// <c>llm: 4</c> that holds for the whole process, say).</summary>
    /// <value>None: each type is held only by <see cref="Workers"/>.</value>
    public IReadOnlyDictionary<string, int> Limits { get; init; } = new Dictionary<string, int>();

    /// <summary>How many runs may be under way at once; more wait in the queue, in the order they were started.</summary>
    /// <value>Null: no limit, every run starts at once and only its tasks wait for workers.</value>
    public int? MaxActiveRuns { get; init; }

    /// <summary>How many runs may wait in the queue; a run started beyond that is refused
    /// (<see cref="ParallelFlowPoolFullException"/>).</summary>
    /// <value>1,000.</value>
    public int MaxQueuedRuns { get; init; } = 1_000;
}

/// <summary>A run was refused because its pool's queue of waiting runs is full.</summary>
public sealed class ParallelFlowPoolFullException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is full and what to do.</param>
    public ParallelFlowPoolFullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ParallelFlowPoolFullException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is full and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public ParallelFlowPoolFullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Limits shared by every run that names it (<see cref="RunOptions.Pool"/>): a host-wide worker count and per-worker-type
/// limits, as Airflow pools and Prefect's global concurrency limits are, with each run's own limits still applying
/// inside. Workers are shared fairly: when runs wait for a slot, it goes to the waiting run that holds the fewest, so a
/// run of three tasks started beside one of ten thousand gets its share at the next free slot instead of after the
/// long run. Runs beyond <see cref="PoolOptions.MaxActiveRuns"/> queue; beyond <see cref="PoolOptions.MaxQueuedRuns"/>
/// they are refused. Safe to use from any thread; one pool serves a whole process.
/// </summary>
public sealed class ParallelFlowPool
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _typeUsed = new(StringComparer.Ordinal);
    private readonly Dictionary<FlowRun, Member> _members = [];
    // The queued runs, in order; a short list, searched when a queued run leaves it out of turn.
    private readonly List<(FlowRun Run, CancellationTokenRegistration Registration)> _queued = [];
    private int _used;

    /// <summary>Creates a pool.</summary>
    /// <param name="options">Its limits; the processor count and no other limit when absent.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count or limit is below 1.</exception>
    public ParallelFlowPool(PoolOptions? options = null)
    {
        Options = options ?? new PoolOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.Workers, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.MaxQueuedRuns, 0, nameof(options));
        if (Options.MaxActiveRuns is { } active)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(active, 1, nameof(options));
        }

        foreach (var (worker, limit) in Options.Limits)
        {
            if (limit < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(options), $"the pool's limit for '{worker}' is {limit}; a limit is at least 1");
            }
        }
    }

    /// <summary>The pool's limits.</summary>
    public PoolOptions Options { get; }

    /// <summary>How many tasks run now, across every run.</summary>
    public int RunningTasks
    {
        get
        {
            lock (_lock)
            {
                return _used;
            }
        }
    }

    /// <summary>How many runs are under way.</summary>
    public int ActiveRuns
    {
        get
        {
            lock (_lock)
            {
                return _members.Count;
            }
        }
    }

    /// <summary>How many runs wait for their turn to start.</summary>
    public int QueuedRuns
    {
        get
        {
            lock (_lock)
            {
                return _queued.Count;
            }
        }
    }

    /// <summary>Lets a run in: it begins now, or when an active run ends; refused when the queue is full.</summary>
    internal void Admit(FlowRun run, CancellationToken cancellationToken)
    {
        var queued = false;
        lock (_lock)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                // Cancelled already: it begins outside the pool, and ends cancelled in its first step.
            }
            else if (Options.MaxActiveRuns is not { } most || _members.Count < most)
            {
                _members.Add(run, new Member());
            }
            else if (_queued.Count >= Options.MaxQueuedRuns)
            {
                throw new ParallelFlowPoolFullException(
                    $"the pool is full: {_members.Count} runs are under way (MaxActiveRuns) and {_queued.Count} wait (MaxQueuedRuns); start the run later");
            }
            else
            {
                _queued.Add((run, default));
                queued = true;
            }
        }

        if (queued)
        {
            // A queued run whose token is cancelled leaves the queue and begins at once, outside the pool, ending
            // cancelled in its first step. Registered after it is queued, so a cancellation now finds it there.
            var registration = cancellationToken.UnsafeRegister(static state => ((FlowRun)state!).Pool!.BeginQueued((FlowRun)state!), run);
            lock (_lock)
            {
                if (Replace(run, registration))
                {
                    return;
                }
            }

            registration.Unregister();
            return;
        }

        run.Begin();
    }

    /// <summary>Stores a queued run's registration; false when the run already left the queue.</summary>
    private bool Replace(FlowRun run, CancellationTokenRegistration registration)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        var index = _queued.FindIndex(q => q.Run == run);
        if (index >= 0)
        {
            _queued[index] = (run, registration);
        }

        return index >= 0;
    }

    /// <summary>Takes a run out of the queue; false when it was not there.</summary>
    private bool Withdraw(FlowRun run, out CancellationTokenRegistration registration)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        var index = _queued.FindIndex(q => q.Run == run);
        registration = index >= 0 ? _queued[index].Registration : default;
        if (index >= 0)
        {
            _queued.RemoveAt(index);
        }

        return index >= 0;
    }

    /// <summary>Begins a queued run out of turn (its token was cancelled).</summary>
    private void BeginQueued(FlowRun run)
    {
        lock (_lock)
        {
            if (!Withdraw(run, out _))
            {
                return;
            }
        }

        // Not a member: it takes no slot and no place, and ends cancelled in its first step.
        run.Begin();
    }

    /// <summary>A run's dispatch begins: it may be woken again, and what it is refused from now on is recorded afresh.
    /// What it waited for until now still counts while it dispatches: cleared here, a run that has just given a slot
    /// back would, until it asks again, look as if it waited for nothing, and another run it woke could take the slot
    /// its fair share gives it.</summary>
    internal void BeginDispatch(FlowRun run)
    {
        lock (_lock)
        {
            if (!_members.TryGetValue(run, out var member))
            {
                return;
            }

            member.WakePending = false;
            member.RefusedGlobal = false;
            member.RefusedTypes.Clear();
        }
    }

    /// <summary>A run's dispatch ended: it waits for what this dispatch was refused, and if that is not every slot, the
    /// other waiting runs (those that deferred to it among them, and those a slot it gave back in this step may serve)
    /// try again while a slot is free.</summary>
    internal void EndDispatch(FlowRun run)
    {
        lock (_lock)
        {
            if (!_members.TryGetValue(run, out var member))
            {
                return;
            }

            member.WaitingGlobal = member.RefusedGlobal;
            member.WaitingTypes.Clear();
            member.WaitingTypes.UnionWith(member.RefusedTypes);

            // A run still waiting for any slot at all wakes nobody: a freed slot would be its. One that waits only for
            // some worker types may leave a slot others deferred to it for.
            if (!member.WaitingGlobal)
            {
                WakeWaiting(except: run);
            }
        }
    }

    /// <summary>Asks for a slot for one task of a worker type.</summary>
    internal PoolGrant TryAcquire(FlowRun run, string worker)
    {
        lock (_lock)
        {
            if (!_members.TryGetValue(run, out var member))
            {
                return PoolGrant.Full;
            }

            if (_used >= Options.Workers)
            {
                member.WaitingGlobal = member.RefusedGlobal = true;
                return PoolGrant.Full;
            }

            var typeUsed = _typeUsed.GetValueOrDefault(worker);
            if (Options.Limits.TryGetValue(worker, out var limit) && typeUsed >= limit)
            {
                member.Refuse(worker);
                return PoolGrant.TypeFull;
            }

            // Fair sharing: a run that holds fewer slots and waits for one this slot could be goes first: for any slot,
            // for this kind, or for a kind that has room again (its limit was what refused it, and this free slot of
            // the pool could now run it).
            foreach (var (other, waiting) in _members)
            {
                if (other != run && waiting.Held < member.Held && (waiting.WaitingGlobal || waiting.WaitingTypes.Contains(worker) || WaitsForRoom(waiting)))
                {
                    member.Refuse(worker);
                    Wake(other, waiting);
                    return PoolGrant.TypeFull;
                }
            }

            _used++;
            _typeUsed[worker] = typeUsed + 1;
            member.Held++;
            member.HeldByType[worker] = member.HeldByType.GetValueOrDefault(worker) + 1;
            return PoolGrant.Granted;
        }
    }

    /// <summary>Whether a run waits for a worker type that has room under its limit now (or has no limit).</summary>
    private bool WaitsForRoom(Member member)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        foreach (var type in member.WaitingTypes)
        {
            if (!Options.Limits.TryGetValue(type, out var limit) || _typeUsed.GetValueOrDefault(type) < limit)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Gives a task's slot back. It wakes nobody: it is called in a step of the run, whose dispatch follows and
    /// wakes the waiting runs at its end (<see cref="EndDispatch"/>), once this run has had its turn. Woken here, a run
    /// that holds more could take the slot on another thread before this run's dispatch asks for it — while this one,
    /// whose last dispatch was refused nothing (its next task was not ready yet: a chain's), looked as if it waited for
    /// nothing.</summary>
    internal void Release(FlowRun run, string worker)
    {
        lock (_lock)
        {
            if (!_members.TryGetValue(run, out var member))
            {
                return;
            }

            Debug.Assert(member.Held > 0 && _used > 0, "A slot is given back once, by the run that held it.");
            _used--;
            _typeUsed[worker]--;
            member.Held--;
            member.HeldByType[worker]--;
        }
    }

    /// <summary>A run ended: it leaves the pool, and the next queued run begins.</summary>
    internal void Leave(FlowRun run)
    {
        var registrations = new List<CancellationTokenRegistration>();
        var next = new List<FlowRun>();
        lock (_lock)
        {
            if (!_members.Remove(run, out var member))
            {
                // Cancelled while it waited in the queue: it leaves the queue.
                if (Withdraw(run, out var withdrawn))
                {
                    registrations.Add(withdrawn);
                }
            }
            else
            {
                // A run that ends holding slots (an engine fault ended it) gives them all back.
                foreach (var (worker, held) in member.HeldByType)
                {
                    _typeUsed[worker] -= held;
                    _used -= held;
                }

                WakeWaiting(except: run);
            }

            while ((Options.MaxActiveRuns is not { } most || _members.Count < most) && _queued.Count > 0)
            {
                var queued = _queued[0];
                _queued.RemoveAt(0);
                registrations.Add(queued.Registration);
                _members.Add(queued.Run, new Member());
                next.Add(queued.Run);
            }
        }

        // Unregister does not wait for a callback under way (one waiting for this lock, say); Dispose would.
        foreach (var registration in registrations)
        {
            registration.Unregister();
        }

        foreach (var queued in next)
        {
            // Leave is called from inside the ending run's scheduling step: the next run begins on another thread.
            ThreadPool.UnsafeQueueUserWorkItem(static r => r.Begin(), queued, preferLocal: false);
        }
    }

    /// <summary>Wakes the waiting runs a free slot could serve: those waiting for any slot, and those waiting for a worker
    /// type that has room. One refused only by a type still at its limit sleeps on: woken, it would be refused again,
    /// and its dispatch's end would wake the others refused so, and they it, round and round on a core until that type
    /// had room. Room comes only from a slot given back or a run leaving, and both wake it then.</summary>
    private void WakeWaiting(FlowRun except)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (_used >= Options.Workers)
        {
            return;
        }

        foreach (var (other, member) in _members)
        {
            if (other != except && (member.WaitingGlobal || WaitsForRoom(member)))
            {
                Wake(other, member);
            }
        }
    }

    /// <summary>How many times a run was woken to try again (for tests).</summary>
    internal long Wakes => Interlocked.Read(ref _wakes);

    private long _wakes;

    /// <summary>Has a waiting run take a scheduling step, on another thread: never inside the pool's lock or another
    /// run's step.</summary>
    private void Wake(FlowRun run, Member member)
    {
        if (!member.WakePending)
        {
            member.WakePending = true;
            Interlocked.Increment(ref _wakes);
            ThreadPool.UnsafeQueueUserWorkItem(static r => r.PoolWake(), run, preferLocal: false);
        }
    }

    /// <summary>A run's share of the pool.</summary>
    private sealed class Member
    {
        public int Held;
        public readonly Dictionary<string, int> HeldByType = new(StringComparer.Ordinal);
        // What it waits for, as other runs see it: what its last dispatch was refused (and, during a dispatch, what this
        // one has been refused so far as well).
        public bool WaitingGlobal;
        public readonly HashSet<string> WaitingTypes = new(StringComparer.Ordinal);

        // What the dispatch under way has been refused: what the run waits for once it ends.
        public bool RefusedGlobal;
        public readonly HashSet<string> RefusedTypes = new(StringComparer.Ordinal);

        public bool WakePending;

        /// <summary>Refused a slot of this worker type, now.</summary>
        public void Refuse(string worker)
        {
            WaitingTypes.Add(worker);
            RefusedTypes.Add(worker);
        }
    }
}

/// <summary>What the pool answered a run asking for a slot.</summary>
internal enum PoolGrant
{
    /// <summary>The slot is the run's until its task ends.</summary>
    Granted,

    /// <summary>No slot for this worker type now (its limit, or a run with fewer slots waits for it); others may have one.</summary>
    TypeFull,

    /// <summary>No slot at all now.</summary>
    Full,
}
