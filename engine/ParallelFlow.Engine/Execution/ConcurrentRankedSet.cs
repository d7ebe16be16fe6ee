using System.Numerics;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// A <see cref="RankedSet"/> that any thread may add to and take from without a lock: the same bitmap with a summary
/// level for every 64 words below, changed with atomic <c>Or</c> and <c>And</c>. A bit of a summary level is a hint,
/// "the word below may hold ranks": it is set before an adder's rank counts (<see cref="Count"/>), and cleared only by
/// a thread that then looks at the word again and sets it back if a rank came in meanwhile. A taker that follows a
/// hint to an empty word clears it the same way and looks again.
/// </summary>
/// <remarks>Each rank is added at most once until it is taken, and taken once: the thread whose <c>And</c> cleared its
/// bit has it. Takers get the lowest rank they can see, or (given each rank's tie end) the highest tied with it; with
/// adds and takes racing, a rank added during a take may be passed over by that take, never lost.</remarks>
internal sealed class ConcurrentRankedSet
{
    // _levels[0] holds a bit per rank; _levels[k + 1] a bit per word of _levels[k] that may not be zero; the last level
    // is one word.
    private readonly ulong[][] _levels;

    // Apart from _levels, which every call reads.
    private PaddedCount _count;

    public ConcurrentRankedSet(int capacity) => _levels = RankedSet.Levels(capacity);

    /// <summary>How many ranks the set holds: counted before a rank can be taken, and after a taken one is let go, so
    /// a count above zero may be a rank still being added or taken, and a count of zero read after a fence means every
    /// rank added before it has been taken.</summary>
    public int Count => Volatile.Read(ref _count.Value);

    /// <summary>Empties the set, hints included: for a set no thread uses any more (a run's, given back for the
    /// plan's next run). A run that stops takes its ranks out itself; a hint a race left set goes here too, so the
    /// next run starts on a set as new.</summary>
    public void Clear()
    {
        foreach (var level in _levels)
        {
            Array.Clear(level);
        }

        Volatile.Write(ref _count.Value, 0);
    }

    /// <summary>Adds a rank that is not in the set.</summary>
    public void Add(int rank)
    {
        // Counted first: a taker may take the rank as soon as its bit is set, and its decrement must not come first.
        Interlocked.Increment(ref _count.Value);
        Put(rank);
    }

    /// <summary>Sets a counted rank's bit, and the hints above it.</summary>
    private void Put(int rank)
    {
        var word = rank >> 6;
        if (Interlocked.Or(ref _levels[0][word], 1UL << (rank & 63)) == 0)
        {
            MarkUp(0, word);
        }
    }

    /// <summary>The lowest rank this thread can see, without taking it: false when the set looks empty.</summary>
    public bool TryPeek(out int rank) => (rank = Lowest()) >= 0;

    /// <summary>The lowest rank this thread can see, without taking it; −1 when the set looks empty.</summary>
    /// <remarks>It walks the levels without reading <see cref="Count"/>: a thread that reads the count's line, which
    /// every add and take writes, has it moved from the other core's cache (see <see cref="TryTakeUncounted"/>). A hint
    /// that leads to an empty word is cleared (and set back if a rank came in meanwhile) and the walk made again, as a
    /// take does: a hint a race left set over an empty word would otherwise hide the ranks after it from every look
    /// until a take came by.</remarks>
    public int Lowest()
    {
        var top = _levels.Length - 1;
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var index = 0;
            var k = top;
            for (; k >= 0; k--)
            {
                var bits = Volatile.Read(ref _levels[k][index]);
                if (bits == 0)
                {
                    break;
                }

                index = (index << 6) + BitOperations.TrailingZeroCount(bits);
            }

            if (k < 0)
            {
                return index;
            }

            if (k == top)
            {
                // Empty.
                return -1;
            }

            // A stale hint, or one being cleared by a take.
            ClearUp(k, index);
        }

        return -1;
    }

    /// <summary>Whether this thread sees a rank from <paramref name="from"/> to <paramref name="to"/> in the set.</summary>
    public bool HoldsAny(int from, int to)
    {
        if (from > to)
        {
            return false;
        }

        var word = from >> 6;
        var bits = Volatile.Read(ref _levels[0][word]) & (ulong.MaxValue << (from & 63));
        if (to >> 6 == word)
        {
            return (bits & ((to & 63) == 63 ? ulong.MaxValue : (2UL << (to & 63)) - 1)) != 0;
        }

        return bits != 0 || LastAtOrBefore(to) >= from;
    }

    /// <summary>Takes the lowest rank this thread can see; given <paramref name="tieEnd"/> (each rank's last tied
    /// rank), the last rank tied with it instead: the highest from the lowest up to that rank's tie end. A worker that
    /// takes from another worker's set (<see cref="LaneSets"/>) takes from the end of a tie its owner reaches last.</summary>
    public bool TryTake(out int rank, int[]? tieEnd = null)
    {
        if (!(tieEnd is null ? TryTakeUncounted(out rank) : TryTakeLastUncounted(tieEnd, out rank)))
        {
            return false;
        }

        Interlocked.Decrement(ref _count.Value);
        return true;
    }

    /// <summary>Puts <paramref name="rank"/> (not in the set) in and takes the lowest rank this thread can see, which may
    /// be <paramref name="rank"/> itself: <see cref="Add"/> then <see cref="TryTake"/> in effect, without counting the
    /// rank in and another out. The rank taken first keeps its count for the rank put in, so the count never falls below
    /// the ranks the set holds.</summary>
    /// <param name="rank">The rank put in.</param>
    /// <param name="put">The rank left in the set: <paramref name="rank"/>, or the one taken first when
    /// <paramref name="rank"/> comes before it; −1 when the set looked empty (<paramref name="rank"/> never entered).</param>
    public int Exchange(int rank, out int put)
    {
        if (!TryTakeUncounted(out var taken))
        {
            // Nothing to take: the rank is the lowest, and never enters the set.
            put = -1;
            return rank;
        }

        (var kept, put) = taken < rank ? (taken, rank) : (rank, taken);
        Put(put);
        return kept;
    }

    /// <summary>Takes a share of the lowest tie this thread can see, from the tie's far end, if that tie ends before
    /// <paramref name="before"/> (given <paramref name="tieEnd"/>, each rank's last tied rank; without, every rank is a
    /// tie of its own): the tie's ranks in the last word of the set that holds any, all of them when the tie goes on
    /// in the words before, else the later half (rounded up). A worker that takes from another worker's set
    /// (<see cref="LaneSets"/>) takes a share at once, so the two meet once a share, not once a task.</summary>
    /// <param name="tieEnd">Each rank's last tied rank, or null.</param>
    /// <param name="before">The tie must end before this rank.</param>
    /// <param name="word">The word of ranks the share is in: rank <c>word * 64 + b</c> for each bit <c>b</c> of the
    /// result.</param>
    /// <returns>The ranks taken, as bits of <paramref name="word"/>; 0 when the set looks empty, its lowest tie does not
    /// end before <paramref name="before"/>, or other threads took the ranks seen first, each of a few tries.</returns>
    public ulong TryTakeShareBefore(int[]? tieEnd, int before, out int word)
    {
        word = -1;
        if (!LowestTieBefore(tieEnd, before, out var lowest, out var end))
        {
            return 0;
        }

        var words = _levels[0];
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var last = LastAtOrBefore(end);
            if (last < lowest)
            {
                break;
            }

            var index = last >> 6;
            var bits = Volatile.Read(ref words[index]);
            // The tie's ranks in this word: from the tie's first (or the word's first) to the last seen.
            var upTo = last & 63;
            var whole = lowest >> 6 == index;
            var from = whole ? lowest & 63 : 0;
            var tie = bits & (upTo == 63 ? ulong.MaxValue : (2UL << upTo) - 1) & ~((1UL << from) - 1);
            if (tie == 0)
            {
                continue;
            }

            var share = tie;
            if (whole)
            {
                // The whole tie is in this word: its later half, so the owner keeps the rest.
                for (var keep = BitOperations.PopCount(tie) / 2; keep > 0; keep--)
                {
                    share &= share - 1;
                }
            }

            // Cleared with one And: the bits still set are this thread's, every one a rank of the tie (the owner may
            // have taken some meanwhile, or added others, which stay).
            var was = Interlocked.And(ref words[index], ~share);
            share &= was;
            if (share != 0)
            {
                if ((was & ~share) == 0)
                {
                    ClearUp(0, index);
                }

                Interlocked.Add(ref _count.Value, -BitOperations.PopCount(share));
                word = index;
                return share;
            }

            // Other threads took them all first: look again.
        }

        return 0;
    }

    /// <summary>Adds ranks that are in no set, as bits of one word (<see cref="TryTakeShareBefore"/>'s).</summary>
    public void AddShare(int word, ulong share)
    {
        Interlocked.Add(ref _count.Value, BitOperations.PopCount(share));
        if (Interlocked.Or(ref _levels[0][word], share) == 0)
        {
            MarkUp(0, word);
        }
    }

    private bool TryTakeLastUncounted(int[] tieEnd, out int rank) =>
        TryTakeLastOfLowest(tieEnd, int.MaxValue, out rank) || TryTakeUncounted(out rank);

    /// <summary>Takes the last rank of the lowest tie this thread can see, if that tie ends before
    /// <paramref name="before"/>, without the count: the caller takes the rank out of it.</summary>
    private bool TryTakeLastOfLowest(int[]? tieEnd, int before, out int rank)
    {
        rank = -1;
        return LowestTieBefore(tieEnd, before, out var lowest, out var end) && TryTakeLastOnce(lowest, end, out rank);
    }

    /// <summary>The lowest rank this thread can see and the last rank tied with it, if that tie ends before
    /// <paramref name="before"/>; false when the set looks empty or the tie does not.</summary>
    private bool LowestTieBefore(int[]? tieEnd, int before, out int lowest, out int end)
    {
        lowest = Lowest();
        end = lowest < 0 ? -1 : tieEnd is null ? lowest : tieEnd[lowest];
        return lowest >= 0 && end < before;
    }

    /// <summary>Takes the highest rank from <paramref name="low"/> to <paramref name="high"/> this thread can see; false
    /// when it sees none there (the caller takes the lowest instead).</summary>
    private bool TryTakeLastOnce(int low, int high, out int rank)
    {
        var words = _levels[0];
        for (var attempt = 0; attempt < 4; attempt++)
        {
            rank = LastAtOrBefore(high);
            if (rank < low)
            {
                break;
            }

            var word = rank >> 6;
            var bit = 1UL << (rank & 63);
            var was = Interlocked.And(ref words[word], ~bit);
            if ((was & bit) != 0)
            {
                if (was == bit)
                {
                    ClearUp(0, word);
                }

                return true;
            }

            // Another thread took it first: look again.
        }

        rank = -1;
        return false;
    }

    /// <summary>The highest rank at or before <paramref name="position"/> the levels show, or −1: up the levels past
    /// empty words, then down through the hints. A hint that leads to an empty word is cleared, and ends the search
    /// with −1.</summary>
    private int LastAtOrBefore(int position)
    {
        var level = 0;
        var index = position;
        while (true)
        {
            if (index < 0)
            {
                return -1;
            }

            var word = index >> 6;
            var upTo = index & 63;
            var bits = Volatile.Read(ref _levels[level][word]) & (upTo == 63 ? ulong.MaxValue : (2UL << upTo) - 1);
            if (bits != 0)
            {
                index = (word << 6) + 63 - BitOperations.LeadingZeroCount(bits);
                while (level > 0)
                {
                    level--;
                    bits = Volatile.Read(ref _levels[level][index]);
                    if (bits == 0)
                    {
                        // A stale hint: cleared (and set back if a rank came in meanwhile), as a lowest-first walk
                        // clears one; the caller then takes the lowest.
                        ClearUp(level, index);
                        return -1;
                    }

                    index = (index << 6) + 63 - BitOperations.LeadingZeroCount(bits);
                }

                return index;
            }

            // Nothing at or before the position in this word: the words before it, one level up.
            level++;
            if (level == _levels.Length)
            {
                return -1;
            }

            index = word - 1;
        }
    }

    /// <summary>Takes the lowest rank this thread can see and leaves <see cref="Count"/> as it is (the caller takes the
    /// rank out of it, or puts another in its place); false once the count says the set is empty.</summary>
    /// <remarks>The first walk does not read the count: it is read only when that walk finds nothing (an empty set, or a
    /// rank being added or taken on another thread). Each read of a line another core has just written moves it to this
    /// core, and a write after the read moves it again: on a host whose cores are far apart that is 150 ns or more a
    /// move (benchmarks/results), and a take read the count, then wrote it.</remarks>
    private bool TryTakeUncounted(out int rank)
    {
        if (TryTakeOnce(out rank))
        {
            return true;
        }

        var spinner = default(SpinWait);
        while (Volatile.Read(ref _count.Value) > 0)
        {
            if (TryTakeOnce(out rank))
            {
                return true;
            }

            // A rank being added or taken on another thread, or a hint being cleared: it takes a few instructions.
            spinner.SpinOnce(sleep1Threshold: -1);
        }

        rank = -1;
        return false;
    }

    /// <summary>One walk down from the top level. False when the top is empty, or the walk met a word emptied under it
    /// (whose hint it has then cleared): the caller looks again while the count says a rank is there.</summary>
    private bool TryTakeOnce(out int rank)
    {
        rank = -1;
        var top = _levels.Length - 1;
        var index = 0;
        for (var k = top; k >= 0; k--)
        {
            var bits = Volatile.Read(ref _levels[k][index]);
            if (bits == 0)
            {
                if (k < top)
                {
                    // A stale hint led here: clear it (and set it back if a rank came in meanwhile), then start again.
                    ClearUp(k, index);
                }

                return false;
            }

            var low = BitOperations.TrailingZeroCount(bits);
            if (k == 0)
            {
                var bit = 1UL << low;
                var was = Interlocked.And(ref _levels[0][index], ~bit);
                if ((was & bit) == 0)
                {
                    // Another thread took it first.
                    return false;
                }

                if (was == bit)
                {
                    // The word is empty now.
                    ClearUp(0, index);
                }

                rank = (index << 6) + low;
                return true;
            }

            index = (index << 6) + low;
        }

        return false;
    }

    /// <summary>The word <paramref name="index"/> of level <paramref name="level"/> is not empty (it was just added
    /// to): the level above says so, and so on up while a word there was empty.</summary>
    private void MarkUp(int level, int index)
    {
        for (var k = level + 1; k < _levels.Length; k++)
        {
            var word = index >> 6;
            if (Interlocked.Or(ref _levels[k][word], 1UL << (index & 63)) != 0)
            {
                return;
            }

            index = word;
        }
    }

    /// <summary>The word <paramref name="index"/> of level <paramref name="level"/> was seen empty: its hint above is
    /// cleared (and the one above that, if its word empties), then the word is read again, and if a rank came in
    /// meanwhile the hints are set back.</summary>
    private void ClearUp(int level, int index)
    {
        if (level + 1 >= _levels.Length)
        {
            return;
        }

        var word = index >> 6;
        var bit = 1UL << (index & 63);
        var was = Interlocked.And(ref _levels[level + 1][word], ~bit);
        if (was == bit)
        {
            ClearUp(level + 1, word);
        }

        if (Volatile.Read(ref _levels[level][index]) != 0)
        {
            MarkUp(level, index);
        }
    }
}
