namespace ParallelFlow.Engine.Execution;

/// <summary>
/// A lane run's ready tasks by place, one <see cref="ConcurrentRankedSet"/> per worker (its loop's
/// <see cref="ExecutorLoop.Stripe"/>, claimed for the run), with a hint for each set: the best tie it holds. A worker adds the dependents it
/// makes ready to its own set and takes from its own set while no other set's hint shows a better tie; when one does,
/// it takes a share of that tie from that set's far end, the end its owner reaches last
/// (<see cref="ConcurrentRankedSet.TryTakeShareBefore"/>), runs the first and keeps the rest in its own set.
/// </summary>
/// <remarks>
/// <para>Why a set per worker: with one set, every task a worker made ready and did not run itself went through lines
/// the other worker wrote too (the set's words and count), so each step moved cache lines between the cores: on a host
/// that places the two cores far apart, 300–450 ns a move (benchmarks/results). A binary tree or a layered graph, run
/// level by level as the critical path's order has it, put almost every task through the shared set. With a set each, a
/// worker's tasks stay in lines only it writes, and the workers meet only where one runs out of a tie before the other:
/// a few times a level. A hint is written only when its set's best tie changes, and mostly by its owner, so reading
/// the other workers' hints on every step reads lines that stay in this core's cache.</para>
/// <para>The order: a worker takes no task of a later tie while it sees a task of an earlier tie anywhere (its own set,
/// or another's hint), as with one set. A set's hint is lowered (compare and swap) after a rank goes in, and raised by
/// its owner only when it takes the last of a tie of several places that the hint shows (<see cref="RunOwn"/>), not on
/// every take: a hint may lag behind its set, showing a tie that has gone (for a moment after a tie of several places;
/// after a tie of one, until another worker looks). A worker that
/// follows such a hint finds only a later tie there, puts the hint right (<see cref="Refresh"/>) and looks again; and it
/// follows the best hint only to a tie no later than the next best hint's, so a lagging hint cannot send it past a
/// better tie in a third set. A hint shows a later tie than its set only between a rank going in and the hint being
/// lowered: that rank may be passed over by a take meanwhile, as a rank added during a take could be with one set. No
/// rank is lost either way: the counts (<see cref="Count"/>) say whether anything is ready, and a worker with nothing
/// in its own set and nothing in the hints takes from whichever set holds a rank
/// (<see cref="TryTake(out int, int)"/>).</para>
/// <para>Short tasks: a hint is read on every step, and its line moves to the reader's core each time its owner has
/// changed it, once a tie; and a share moves the tie's lines between the cores and back. Where every task takes well
/// under a microsecond (zero-work tasks of a wavefront or a layered graph), those moves cost a quarter of the run on
/// cores far apart (benchmarks/results/2026-12-04-short-tasks.md). So a loop whose last task was short (under the window
/// the run gives, 20 µs) and that has a task of its own looks at the hints once a window, not at every step, and runs
/// its own best between looks. At a look that finds a better tie in another set, it passes it over and runs its own
/// tasks until its next look; at that look, if any better tie is still there, it takes a share of it as before. A look
/// comes at the end of the first task past the window, so a better tie waits for at most two looks: about four windows
/// (80 µs), and only while every task is short. A loop whose last task took longer, or that has nothing of its own,
/// looks at every step; a caller outside an executor loop (<see cref="ExecutorLoop.Once"/>) keeps no looks and looks
/// at every step; and a loop that made its own best ready runs it when no hint shows anything, as before. Runs on a
/// clock of their own (a test's) are given no window: they look at every step.</para>
/// <para>The sets are all safe for any thread to add to and take from: which set is a worker's own is a matter of
/// speed only. Loops beyond the number of sets share them. Sets are claimed per run, not per executor loop number: at a
/// run's end the loop that finished it may still hold its number while the plan's next run starts new loops, and two
/// of those must not meet in one set.</para>
/// </remarks>
internal sealed class LaneSets
{
    /// <summary>The most sets a lane keeps: a hint per set is read at every look.</summary>
    public const int MaxStripes = 8;

    private readonly ConcurrentRankedSet[] _sets;

    // Each set's best tie (its lowest rank's tie end, or the rank itself without ties), int.MaxValue when it looks
    // empty; each alone on its cache line.
    private readonly PaddedCount[] _hints;

    // How short a loop's last task must be for it to look at the other sets' hints once a window, and the window
    // (Stopwatch ticks); 0: it looks at every step (Begin).
    private long _window;

    // Each place's last tied place, for the run using the sets (ReadyQueues.FixedOrder); null: every place a tie alone.
    private int[]? _tieEnd;

    // A bit per set a loop of the run holds (Claim); on a line of its own, away from the fields every step reads.
    private PaddedCount _owners;

    public LaneSets(int capacity, int stripes)
    {
        _sets = new ConcurrentRankedSet[stripes];
        for (var s = 0; s < stripes; s++)
        {
            _sets[s] = new ConcurrentRankedSet(capacity);
        }

        _hints = new PaddedCount[stripes];
        ClearHints();
    }

    /// <summary>How many sets there are: one per worker of the lane, up to <see cref="MaxStripes"/>.</summary>
    public int Stripes => _sets.Length;

    /// <summary>How many ranks the sets hold (each set's count, <see cref="ConcurrentRankedSet.Count"/>).</summary>
    public int Count
    {
        get
        {
            var count = 0;
            foreach (var set in _sets)
            {
                count += set.Count;
            }

            return count;
        }
    }

    /// <summary>Starts a run on the sets: the run's ties (its order's, <see cref="ReadyQueues.FixedOrder"/>), and the
    /// window of its loops' looks at the other sets' hints, in Stopwatch ticks (the type's remarks; 0: a look at every
    /// step).</summary>
    public void Begin(int[]? tieEnd, long window = 0)
    {
        _tieEnd = tieEnd;
        _window = window;
    }

    /// <summary>Marks a set <see cref="Claim"/> gave a loop without holding it for the loop (every set was held).</summary>
    public const int Shared = 0x100;

    /// <summary>The set of a claim (<see cref="Claim"/>).</summary>
    public static int SetOf(int stripe) => stripe & (Shared - 1);

    /// <summary>A set for a loop of the run to call its own (<see cref="ExecutorLoop.Stripe"/>): the lowest no other loop
    /// holds, now held; when every set is held (more loops at once than sets, or a loop that ended without giving its
    /// set back), one of them, shared and marked <see cref="Shared"/>. Sets are claimed per run (<see cref="Clear"/>),
    /// so two loops of a run never share a set while there are as many sets as workers.</summary>
    public int Claim()
    {
        var all = (1 << _sets.Length) - 1;
        var held = Volatile.Read(ref _owners.Value);
        while ((held & all) != all)
        {
            var set = System.Numerics.BitOperations.TrailingZeroCount(~held);
            var seen = Interlocked.CompareExchange(ref _owners.Value, held | (1 << set), held);
            if (seen == held)
            {
                return set;
            }

            held = seen;
        }

        return Shared | (Environment.CurrentManagedThreadId % _sets.Length);
    }

    /// <summary>Gives a loop's set back (a loop that gives its worker back), and leaves the loop with none (−1).</summary>
    public void Release(ref int stripe)
    {
        if (stripe >= 0 && (stripe & Shared) == 0)
        {
            Interlocked.And(ref _owners.Value, ~(1 << stripe));
        }

        stripe = -1;
    }

    /// <summary>Empties every set (see <see cref="ConcurrentRankedSet.Clear"/>).</summary>
    public void Clear()
    {
        foreach (var set in _sets)
        {
            set.Clear();
        }

        ClearHints();
        Volatile.Write(ref _owners.Value, 0);
    }

    /// <summary>Adds a rank that is in no set to set <paramref name="stripe"/>.</summary>
    public void Add(int rank, int stripe = 0)
    {
        _sets[stripe].Add(rank);
        Lower(stripe, Key(rank));
    }

    /// <summary>What the loop of set <paramref name="stripe"/> runs next, having made <paramref name="made"/> ready
    /// (the best rank it made ready, in no set; −1 for none) and added the others to its set: the best of its own set
    /// and <paramref name="made"/>, or, when another set's hint shows a better tie, the first of a share of that tie
    /// from that set's far end (the rest of the share and <paramref name="made"/> then go in the loop's own set). −1
    /// when no set holds a rank. Between two looks of a loop with short tasks, its own best (the type's
    /// remarks).</summary>
    /// <param name="stripe">The loop's own set.</param>
    /// <param name="made">The best rank the loop made ready, or −1.</param>
    /// <param name="put">Set when the rest of a share went in the loop's own set: the caller then looks for a free
    /// worker, as after any add (those ranks were counted in no set for a moment).</param>
    /// <param name="now">When the loop's last task ended, if it took less than the window given to <see cref="Begin"/>;
    /// else 0 (it then looks at every step).</param>
    /// <param name="looks">The loop's looks at the other sets' hints (<see cref="ExecutorLoop.Looks"/>), kept by the
    /// loop: its own, written by no other thread.</param>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public int Next(int stripe, int made, ref bool put, long now, ref LaneLooks looks)
    {
        // A chain's step, inlined in the caller: nothing better in the loop's own set, and no other set (one worker),
        // no hint of the other (two) shows anything, or the loop is between two looks. A loop between looks leaves its
        // own hint as it is (RunOwn): behind at most until another loop's look.
        var lowest = _sets[stripe].Lowest();
        var hints = _hints;
        return made >= 0 && (lowest < 0 || made < lowest) && (hints.Length == 1 || (hints.Length == 2 && (Volatile.Read(ref hints[stripe ^ 1].Value) == int.MaxValue || Between(now, looks))))
            ? made
            : NextLooking(stripe, made, lowest, ref put, now, ref looks);
    }

    /// <summary>Whether a loop whose last task ended at <paramref name="now"/> (0: not a short one) is between two looks at the other sets' hints: its last look was less than a window ago.</summary>
    private bool Between(long now, in LaneLooks looks) => now > 0 && now - looks.LookedAt < _window;

    /// <summary><see cref="Next"/> past its first look: <paramref name="lowest"/> is the own set's lowest rank seen,
    /// or −1.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private int NextLooking(int stripe, int made, int lowest, ref bool put, long now, ref LaneLooks looked)
    {
        var own = _sets[stripe];
        var mine = lowest >= 0 && (made < 0 || lowest < made) ? lowest : made;
        // Between two looks, a loop with a task of its own runs it; a look comes once a window (the type's remarks).
        var looks = mine < 0 || !Between(now, looked);
        var passed = looked.Passed;
        // A loop of short tasks, in a run that gives a window: it keeps its looks.
        var timed = now > 0 && _window > 0;
        if (looks && timed)
        {
            looked.LookedAt = now;
            looked.Passed = -1;
        }

        // Another set's best tie, by the hints: a read of lines that change only when a set's best tie does. A hint
        // found behind its set is put right and the others looked at again, once per set at most.
        var mineKey = -1;
        var hints = _hints;
        for (var attempt = looks ? 0 : _sets.Length; attempt < _sets.Length; attempt++)
        {
            int other;
            int otherKey;
            var secondKey = int.MaxValue;
            if (hints.Length == 2)
            {
                // Two workers (the common case): the one other set.
                other = stripe ^ 1;
                otherKey = Volatile.Read(ref hints[other].Value);
            }
            else
            {
                other = -1;
                otherKey = int.MaxValue;
                for (var s = 0; s < hints.Length; s++)
                {
                    var hint = Volatile.Read(ref hints[s].Value);
                    if (hint < secondKey && s != stripe)
                    {
                        (secondKey, otherKey, other) = hint < otherKey ? (otherKey, hint, s) : (hint, otherKey, other);
                    }
                }
            }

            if (otherKey == int.MaxValue)
            {
                break;
            }

            if (mineKey < 0)
            {
                mineKey = mine < 0 ? int.MaxValue : Key(mine);
            }

            if (otherKey >= mineKey)
            {
                break;
            }

            if (mine >= 0 && timed && passed < 0)
            {
                // Its last look passed nothing over: it passes this tie over and runs its own best until its next look,
                // which takes a share of any better tie still there.
                looked.Passed = otherKey;
                break;
            }

            // No further than the next hint: a hint may be behind its set (showing a tie already gone), never ahead of
            // it, so a tie up to the next hint's is the best of the other sets.
            var share = _sets[other].TryTakeShareBefore(_tieEnd, secondKey < mineKey ? secondKey + 1 : mineKey, out var word);
            if (share != 0)
            {
                // The first of the share runs now; the rest, of the same tie, go in the loop's own set.
                var stolen = (word << 6) + System.Numerics.BitOperations.TrailingZeroCount(share);
                share &= share - 1;
                if (share != 0)
                {
                    own.AddShare(word, share);
                    Lower(stripe, Key(stolen));
                    // Ready tasks counted in no set for a moment: a worker that gave itself back meanwhile may have
                    // seen none (the caller looks for a free worker, FlowRun.FinishInLane).
                    put = true;
                }

                if (made >= 0)
                {
                    Add(made, stripe);
                }

                return stolen;
            }

            Refresh(other);
        }

        if (mine < 0)
        {
            // Nothing here or in the hints: any set the counts say holds a rank.
            return TryTake(out var any, stripe) ? any : -1;
        }

        if (mine == made)
        {
            // Better than anything in its own set: it never enters.
            return RunOwn(stripe, made);
        }

        // The own set's best comes first; what was made ready waits in its place.
        int next;
        if (made >= 0)
        {
            next = own.Exchange(made, out var kept);
            if (kept >= 0)
            {
                // What went in shows in the hint, as an add's does (a taker may have raised it meanwhile).
                Lower(stripe, Key(kept));
            }
        }
        else
        {
            next = own.TryTake(out var first) ? first : -1;
        }

        return next >= 0 ? RunOwn(stripe, next) : TryTake(out var anyOther, stripe) ? anyOther : -1;
    }

    /// <summary>The loop of set <paramref name="stripe"/> runs <paramref name="rank"/>, from its own set or made ready
    /// by it. When <paramref name="rank"/>'s tie has more than one place and its set's hint shows an earlier tie, or
    /// that tie and the set holds no more of it, the hint lags: the owner puts it right now, once a tie, so the other
    /// loops do not follow it to find nothing (each such look reads the set's lines, which this loop writes, and writes
    /// the hint). The check is a look at the rest of the tie in the set, mostly one word the take just wrote. A tie of
    /// one place is left to the other loops, as before: every take would leave the hint behind.</summary>
    private int RunOwn(int stripe, int rank)
    {
        if (_hints.Length == 1)
        {
            // One set: no other loop reads its hint.
            return rank;
        }

        if (_tieEnd is not { } tieEnd || (tieEnd[rank] == rank && (rank == 0 || tieEnd[rank - 1] != rank)))
        {
            // A tie of one place: every take would leave the hint behind, and a write on every step would move its
            // line to this core on every step. The other loops put it right when they follow it.
            return rank;
        }

        var hint = Volatile.Read(ref _hints[stripe].Value);
        var key = tieEnd[rank];
        if (hint < key || (hint == key && !_sets[stripe].HoldsAny(rank + 1, key)))
        {
            Refresh(stripe);
        }

        return rank;
    }

    /// <summary>Takes the lowest rank any set shows (for a loop, <paramref name="stripe"/> its set, from another set the
    /// last of that set's lowest tie); false once every set's count says it is empty.</summary>
    public bool TryTake(out int rank, int stripe = -1)
    {
        var spinner = default(SpinWait);
        while (true)
        {
            var best = -1;
            var from = -1;
            for (var s = 0; s < _sets.Length; s++)
            {
                if (_sets[s].TryPeek(out var lowest) && (best < 0 || lowest < best))
                {
                    best = lowest;
                    from = s;
                }
            }

            if (from >= 0 && _sets[from].TryTake(out rank, FarEnd(from, stripe)))
            {
                return true;
            }

            // A look gives up after a few stale hints in a set's levels (ConcurrentRankedSet.Lowest); a take walks on
            // while the set's count says it holds a rank.
            for (var s = 0; s < _sets.Length; s++)
            {
                if (_sets[s].Count > 0 && _sets[s].TryTake(out rank, FarEnd(s, stripe)))
                {
                    return true;
                }
            }

            if (Count == 0)
            {
                rank = -1;
                return false;
            }

            // A rank being added or taken on another thread, or a hint of a set's levels being cleared.
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>The ties to take the last of in set <paramref name="from"/> for a loop of set <paramref name="stripe"/>:
    /// the run's, from another loop's set; none (the lowest first) from its own, or for a take not by a loop.</summary>
    private int[]? FarEnd(int from, int stripe) => stripe >= 0 && from != stripe ? _tieEnd : null;

    private int Key(int rank) => _tieEnd is { } tieEnd ? tieEnd[rank] : rank;

    /// <summary>A rank of tie <paramref name="key"/> went into set <paramref name="stripe"/>: its hint shows it, unless
    /// it shows a better tie already.</summary>
    private void Lower(int stripe, int key)
    {
        ref var hint = ref _hints[stripe].Value;
        var seen = Volatile.Read(ref hint);
        while (key < seen)
        {
            var was = Interlocked.CompareExchange(ref hint, key, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }

    /// <summary>Set <paramref name="stripe"/>'s hint was seen behind the set: it shows the tie of the set's lowest rank
    /// now. The hint is read before the set, and replaced only if no add lowered it meanwhile; a set that looks empty
    /// while its count says otherwise (a rank being added or taken) keeps its hint.</summary>
    private void Refresh(int stripe)
    {
        ref var hint = ref _hints[stripe].Value;
        var seen = Volatile.Read(ref hint);
        var set = _sets[stripe];
        int key;
        if (set.TryPeek(out var lowest))
        {
            key = Key(lowest);
        }
        else if (set.Count == 0)
        {
            key = int.MaxValue;
        }
        else
        {
            return;
        }

        if (key != seen && Interlocked.CompareExchange(ref hint, key, seen) == seen && key > seen && set.Lowest() is var lowestNow and >= 0)
        {
            // Raised: a rank added just before, whose own lowering saw the old hint and found nothing to lower, is
            // seen now (its bit went in before that read, and this look comes after the exchange), and shown.
            Lower(stripe, Key(lowestNow));
        }
    }

    private void ClearHints()
    {
        for (var s = 0; s < _hints.Length; s++)
        {
            _hints[s].Value = int.MaxValue;
        }
    }
}

/// <summary>A loop's looks at the other sets' hints (<see cref="LaneSets.Next"/>): when it last looked (Stopwatch ticks), and
/// the better tie another set showed then, which it passed over (−1 for none); whether the loop keeps no looks at all
/// (<see cref="Untimed"/>). Kept by the loop (<see cref="ExecutorLoop.Looks"/>): no other thread reads or writes
/// it.</summary>
internal struct LaneLooks
{
    /// <summary>A loop that has not looked yet.</summary>
    public static readonly LaneLooks None = new() { Passed = -1 };

    /// <summary>A caller that runs one task at a time and keeps nothing between them (<see cref="ExecutorLoop.Once"/>):
    /// its looks would be forgotten, so it looks at every step.</summary>
    public static readonly LaneLooks Never = new() { Passed = -1, Untimed = true };

    public long LookedAt;

    public int Passed;

    public bool Untimed;
}
