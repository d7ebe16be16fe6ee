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
    // The worker types the runs have named, by index: how many tasks of each run now, and each one's limit
    // (int.MaxValue: none). A run's groups are mapped to these once, when it joins (Member.GroupTypes), so asking for a
    // slot hashes no name.
    private readonly Dictionary<string, int> _types = new(StringComparer.Ordinal);
    private int[] _typeUsed = new int[4];
    private int[] _typeLimit = new int[4];
    private readonly List<Member> _members = [];
    // The queued runs, in order; a short list, searched when a queued run leaves it out of turn.
    private readonly List<(FlowRun Run, CancellationTokenRegistration Registration)> _queued = [];
    private int _used;
    // How many members wait for a slot (what their last dispatch was refused): while none does, a run's dispatch asks
    // nobody else, and a run may keep its slot from one task for the next (NoOtherWaits). Written under the lock.
    private int _waitingRuns;

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

    /// <summary>Whether no run waits for a slot now (once every run has ended, none does).</summary>
    internal bool Uncontended => Volatile.Read(ref _waitingRuns) == 0;

    /// <summary>Whether no run but this one waits for a slot now (it may itself, asking for more than the pool has): a
    /// run that finishes a task may then keep the task's slot for its next task without a step — the one dependent it
    /// made ready (<see cref="FlowRun"/>'s hand-over), or the best ready task (its lane) — as its own dispatch would
    /// have given it. Read without the lock: a run that starts to wait just after waits at most for those tasks, since
    /// each task's end reads this again and, seeing it wait, gives the slot back in a step.</summary>
    internal bool NoOtherWaits(FlowRun run) => Volatile.Read(ref _waitingRuns) is var waiting && (waiting == 0 || (waiting == 1 && run.PoolMember is { Waits: true }));

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
                Join(run);
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

    /// <summary>Makes a run a member: its share, and its worker types mapped to the pool's.</summary>
    private void Join(FlowRun run)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        var names = run.PoolTypeNames;
        var types = new int[names.Length];
        for (var group = 0; group < names.Length; group++)
        {
            types[group] = TypeOf(names[group]);
        }

        var member = new Member(run, types);
        _members.Add(member);
        run.PoolMember = member;
    }

    /// <summary>The index of a worker type, added with its limit the first time a run names it.</summary>
    private int TypeOf(string worker)
    {
        if (_types.TryGetValue(worker, out var type))
        {
            return type;
        }

        type = _types.Count;
        if (type == _typeUsed.Length)
        {
            Array.Resize(ref _typeUsed, 2 * type);
            Array.Resize(ref _typeLimit, 2 * type);
        }

        _typeLimit[type] = Options.Limits.TryGetValue(worker, out var limit) ? limit : int.MaxValue;
        _types.Add(worker, type);
        return type;
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

    /// <summary>Gives a task's slot back, in a step of the run that held it: counted at once for the run, and for the
    /// pool when the dispatch that follows in the same step begins (<see cref="Begin"/>), under the lock its first
    /// request takes. Until then the slot is still the run's: no other run can take it before this run's dispatch has
    /// asked for one, and the runs waiting for it are woken at that dispatch's end, once this run has had its turn (its
    /// fair share still decides: a waiting run that holds fewer goes first).</summary>
    /// <remarks>Under the run's gate, and not the pool's lock: only the run's own steps touch what is given back.</remarks>
    internal static void Release(FlowRun run, int group)
    {
        if (run.PoolMember is { } member)
        {
            member.GivenBack[group]++;
        }
    }

    /// <summary>A run's dispatch begins (in a step, under its gate; the lock held): the slots it gave back in this step
    /// return to the pool. What it waited for until now still counts while it dispatches: cleared here, a run that has
    /// just given a slot back would look as if it waited for nothing, and another run could take the slot its fair share
    /// gives it. Done in the same hold of the lock as the dispatch's first request (<see cref="TryAcquire"/>), or as its
    /// end when it asks for nothing (<see cref="EndDispatch"/>), so no other run can take a slot given back in between.
    /// </summary>
    private void Begin(Member member)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        for (var group = 0; group < member.GivenBack.Length; group++)
        {
            if (member.GivenBack[group] is var count and > 0)
            {
                member.GivenBack[group] = 0;
                Return(member, group, count);
            }
        }

        member.WakePending = false;
        member.RefusedGlobal = false;
        member.RefusedTypes.Clear();
    }

    /// <summary>A run's dispatch ended: it waits for what this dispatch was refused, and if that is not every slot, the
    /// other waiting runs (those that deferred to it among them, and those a slot it gave back in this step may serve)
    /// try again while a slot is free.</summary>
    /// <param name="run">The run, a member (<see cref="FlowRun.PoolMember"/>).</param>
    /// <param name="begun">Whether the dispatch asked for a slot (<see cref="TryAcquire"/> began it); if not, it
    /// begins and ends here.</param>
    /// <remarks>Each call takes the pool's lock on its own: between them the run takes its ready tasks in its strategy's
    /// order, which may be a plugin's code, and that never runs under the pool's lock.</remarks>
    internal void EndDispatch(FlowRun run, bool begun)
    {
        var member = run.PoolMember!;
        lock (_lock)
        {
            if (member.Left)
            {
                return;
            }

            if (!begun)
            {
                Begin(member);
            }

            var waited = member.Waits;
            member.WaitingGlobal = member.RefusedGlobal;
            member.WaitingTypes.Clear();
            member.WaitingTypes.AddRange(member.RefusedTypes);
            CountWaiting(member, waited);

            // A run still waiting for any slot at all wakes nobody: a freed slot would be its. One that waits only for
            // some worker types may leave a slot others deferred to it for.
            if (!member.WaitingGlobal)
            {
                WakeWaiting(except: member);
            }
        }
    }

    /// <summary>Asks for a slot for one task of one of the run's groups, in its dispatch.</summary>
    /// <param name="run">The run, a member (<see cref="FlowRun.PoolMember"/>).</param>
    /// <param name="group">The task's group.</param>
    /// <param name="begun">Whether the dispatch has begun; the first request begins it, and sets this.</param>
    internal PoolGrant TryAcquire(FlowRun run, int group, ref bool begun)
    {
        var member = run.PoolMember!;
        lock (_lock)
        {
            if (member.Left)
            {
                return PoolGrant.Full;
            }

            if (!begun)
            {
                Begin(member);
                begun = true;
            }

            if (_used >= Options.Workers)
            {
                var waited = member.Waits;
                member.WaitingGlobal = member.RefusedGlobal = true;
                CountWaiting(member, waited);
                return PoolGrant.Full;
            }

            var type = member.GroupTypes[group];
            if (_typeUsed[type] >= _typeLimit[type])
            {
                Refuse(member, type);
                return PoolGrant.TypeFull;
            }

            // Fair sharing: a run that holds fewer slots and waits for one this slot could be goes first: for any slot,
            // for this kind, or for a kind that has room again (its limit was what refused it, and this free slot of the
            // pool could now run it). Nobody to ask while no other run waits.
            if (_waitingRuns > (member.Waits ? 1 : 0))
            {
                foreach (var other in _members)
                {
                    if (other != member && other.Held < member.Held && (other.WaitingGlobal || other.WaitingTypes.Contains(type) || WaitsForRoom(other)))
                    {
                        Refuse(member, type);
                        Wake(other);
                        return PoolGrant.TypeFull;
                    }
                }
            }

            _used++;
            _typeUsed[type]++;
            member.Held++;
            member.HeldByGroup[group]++;
            return PoolGrant.Granted;
        }
    }

    /// <summary>Gives back a slot just granted in this dispatch: its task could not start after all.</summary>
    internal void GiveBackGranted(FlowRun run, int group)
    {
        var member = run.PoolMember!;
        lock (_lock)
        {
            if (!member.Left)
            {
                Return(member, group, 1);
            }
        }
    }

    private void Return(Member member, int group, int count)
    {
        Debug.Assert(member.HeldByGroup[group] >= count && _used >= count, "A slot is given back once, by the run that held it.");
        _used -= count;
        _typeUsed[member.GroupTypes[group]] -= count;
        member.Held -= count;
        member.HeldByGroup[group] -= count;
    }

    /// <summary>A run's dispatch was refused a slot of a worker type, now.</summary>
    private void Refuse(Member member, int type)
    {
        var waited = member.Waits;
        if (!member.WaitingTypes.Contains(type))
        {
            member.WaitingTypes.Add(type);
        }

        if (!member.RefusedTypes.Contains(type))
        {
            member.RefusedTypes.Add(type);
        }

        CountWaiting(member, waited);
    }

    /// <summary>Keeps the count of waiting runs after a member's waiting may have changed.</summary>
    private void CountWaiting(Member member, bool waited)
    {
        if (member.Waits != waited)
        {
            Volatile.Write(ref _waitingRuns, _waitingRuns + (waited ? -1 : 1));
        }
    }

    /// <summary>Whether a run waits for a worker type that has room under its limit now (or has no limit).</summary>
    private bool WaitsForRoom(Member member)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        foreach (var type in member.WaitingTypes)
        {
            if (_typeUsed[type] < _typeLimit[type])
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A run ended: it leaves the pool, and the next queued run begins.</summary>
    internal void Leave(FlowRun run)
    {
        var registrations = new List<CancellationTokenRegistration>();
        var next = new List<FlowRun>();
        lock (_lock)
        {
            if (run.PoolMember is not { Left: false } member)
            {
                // Cancelled while it waited in the queue: it leaves the queue.
                if (Withdraw(run, out var withdrawn))
                {
                    registrations.Add(withdrawn);
                }
            }
            else
            {
                member.Left = true;
                _members.Remove(member);
                if (member.Waits)
                {
                    Volatile.Write(ref _waitingRuns, _waitingRuns - 1);
                }

                // A run that ends holding slots (an engine fault ended it) gives them all back, those given back in
                // its last step too (still counted as held until a dispatch returns them).
                for (var group = 0; group < member.HeldByGroup.Length; group++)
                {
                    if (member.HeldByGroup[group] is var held and > 0)
                    {
                        Return(member, group, held);
                    }
                }

                WakeWaiting(except: member);
            }

            while ((Options.MaxActiveRuns is not { } most || _members.Count < most) && _queued.Count > 0)
            {
                var queued = _queued[0];
                _queued.RemoveAt(0);
                registrations.Add(queued.Registration);
                Join(queued.Run);
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
    private void WakeWaiting(Member except)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (_used >= Options.Workers || _waitingRuns == 0)
        {
            return;
        }

        foreach (var member in _members)
        {
            if (member != except && (member.WaitingGlobal || WaitsForRoom(member)))
            {
                Wake(member);
            }
        }
    }

    /// <summary>Whether this thread holds the pool's lock (for tests: a run's own code, a plugin strategy's
    /// comparison say, must never run under it).</summary>
    internal bool IsLockHeldByCurrentThread => _lock.IsHeldByCurrentThread;

    /// <summary>How many times a run was woken to try again (for tests).</summary>
    internal long Wakes => Interlocked.Read(ref _wakes);

    private long _wakes;

    /// <summary>Has a waiting run take a scheduling step, on another thread: never inside the pool's lock or another
    /// run's step.</summary>
    private void Wake(Member member)
    {
        if (!member.WakePending)
        {
            member.WakePending = true;
            Interlocked.Increment(ref _wakes);
            ThreadPool.UnsafeQueueUserWorkItem(static r => r.PoolWake(), member.Run, preferLocal: false);
        }
    }

    /// <summary>A run's share of the pool: what it holds and what it waits for, under the pool's lock — but for the
    /// slots it has given back in a step and not yet returned (<see cref="Release"/>), which only its own steps touch.</summary>
    internal sealed class Member(FlowRun run, int[] groupTypes)
    {
        public readonly FlowRun Run = run;

        // The pool's index of the worker type of each of the run's groups.
        public readonly int[] GroupTypes = groupTypes;
        public readonly int[] HeldByGroup = new int[groupTypes.Length];
        public int Held;
        public bool Left;

        // Given back in the run's step under way, by group, for its dispatch to return (under the run's gate).
        public readonly int[] GivenBack = new int[groupTypes.Length];

        // What it waits for, as other runs see it: what its last dispatch was refused (and, during a dispatch, what this
        // one has been refused so far as well). Types by the pool's index.
        public bool WaitingGlobal;
        public readonly List<int> WaitingTypes = [];

        // What the dispatch under way has been refused: what the run waits for once it ends.
        public bool RefusedGlobal;
        public readonly List<int> RefusedTypes = [];

        public bool WakePending;

        public bool Waits => WaitingGlobal || WaitingTypes.Count > 0;
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
