using CsCheck;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>The lane's lock-free ready set: alone, it gives ranks up lowest first, as <see cref="RankedSet"/> does (an
/// exchange as an add then a take), or the last of the lowest tie when asked, or a share of the lowest tie from its far
/// end if that tie ends before a bound; with threads adding, taking, exchanging and sharing at once, from either end of
/// a tie, every rank put in is taken exactly once and none is lost.</summary>
public sealed class ConcurrentRankedSetTests
{
    [Fact]
    public void On_one_thread_it_gives_up_the_lowest_rank_first_like_the_ranked_set() =>
        Gen.Select(Gen.Int[1, 300_000], Gen.Int.Array[1, 400]).Sample((capacity, operations) =>
        {
            var set = new ConcurrentRankedSet(capacity);
            var model = new RankedSet(capacity);
            var held = new HashSet<int>();
            foreach (var operation in operations)
            {
                var rank = (int)((uint)operation % (uint)capacity);
                if (operation % 3 != 0 && held.Add(rank))
                {
                    var hadLowest = model.TryPeek(out var lowestBefore);
                    model.Add(rank);
                    if ((operation & 0x100000) != 0)
                    {
                        // Put in and take the lowest at once: as an add then a take; what stays in is the other one.
                        Assert.True(model.TryTake(out var expected));
                        Assert.Equal(expected, set.Exchange(rank, out var put));
                        Assert.Equal(!hadLowest ? -1 : lowestBefore < rank ? rank : lowestBefore, put);
                        held.Remove(expected);
                    }
                    else
                    {
                        set.Add(rank);
                    }
                }
                else
                {
                    Assert.Equal(model.TryTake(out var expected), set.TryTake(out var taken));
                    Assert.Equal(expected, taken);
                    held.Remove(taken);
                }

                Assert.Equal(model.Count, set.Count);
                Assert.Equal(model.TryPeek(out var lowest), set.TryPeek(out var peeked));
                Assert.Equal(lowest, peeked);
            }
        }, iter: 300);

    [Fact]
    public void Taking_the_last_of_a_tie_takes_the_highest_rank_tied_with_the_lowest_and_a_share_only_before_a_bound() =>
        Gen.Select(Gen.Int[1, 300_000], Gen.Int[1, 2_000], Gen.Int.Array[1, 400]).Sample((capacity, longestTie, operations) =>
        {
            // Ties: runs of consecutive ranks, of random lengths; each rank's last tied rank.
            var tieEnd = RandomTies.Make(capacity, longestTie, capacity ^ longestTie);

            var set = new ConcurrentRankedSet(capacity);
            var held = new SortedSet<int>();
            // Where shares go: another worker's set.
            var thief = new ConcurrentRankedSet(capacity);
            var stolen = new SortedSet<int>();
            int? LastOfLowestTie() => held.Count == 0 ? null : held.GetViewBetween(held.Min, tieEnd[held.Min]).Max;
            foreach (var operation in operations)
            {
                var rank = (int)((uint)operation % (uint)capacity);
                if (operation % 3 != 0 && !held.Contains(rank) && !stolen.Contains(rank))
                {
                    set.Add(rank);
                    held.Add(rank);
                }
                else if ((operation & 0x100000) != 0)
                {
                    // A share, only when the lowest tie ends before the bound: the tie's ranks in the last word that
                    // holds any, all of them when the tie goes on in the words before, else the later half.
                    var before = (int)((uint)(operation >> 3) % (uint)capacity);
                    var expected = new List<int>();
                    if (held.Count > 0 && tieEnd[held.Min] < before)
                    {
                        var last = LastOfLowestTie()!.Value;
                        var inWord = held.GetViewBetween(Math.Max(held.Min, last >> 6 << 6), last).ToList();
                        expected = held.Min >> 6 == last >> 6 ? inWord[(inWord.Count / 2)..] : inWord;
                    }

                    var share = set.TryTakeShareBefore(tieEnd, before, out var word);
                    var taken = Enumerable.Range(0, 64).Where(bit => (share & (1UL << bit)) != 0).Select(bit => (word << 6) + bit).ToList();
                    Assert.Equal(expected, taken);
                    if (share != 0)
                    {
                        thief.AddShare(word, share);
                    }

                    foreach (var one in taken)
                    {
                        held.Remove(one);
                        stolen.Add(one);
                    }

                    Assert.Equal(stolen.Count, thief.Count);
                    Assert.Equal(stolen.Count > 0 ? stolen.Min : -1, thief.Lowest());
                }
                else if (LastOfLowestTie() is { } expected)
                {
                    Assert.True(set.TryTake(out var taken, tieEnd));
                    Assert.Equal(expected, taken);
                    held.Remove(taken);
                }
                else
                {
                    Assert.False(set.TryTake(out _, tieEnd));
                }

                Assert.Equal(held.Count, set.Count);
                Assert.Equal(held.Count > 0, set.TryPeek(out var lowest));
                Assert.Equal(held.Count > 0 ? held.Min : -1, lowest);
                var from = (int)((uint)(operation >> 5) % (uint)capacity);
                var to = Math.Min(capacity - 1, from + ((operation >> 13) & 0x1FF));
                Assert.Equal(held.GetViewBetween(from, to).Count > 0, set.HoldsAny(from, to));
            }
        }, iter: 300);

    [Fact]
    public void A_look_past_a_stale_hint_finds_the_ranks_after_it_and_clears_the_hint()
    {
        // Two summary levels over 128 words. A race can leave a summary bit set over a word that is empty (a take that
        // cleared it and an add that set it back, crossing); here it is set by hand over words 3 and 0 of the levels.
        var set = new ConcurrentRankedSet(8_192);
        set.Add(5_000);
        var levels = (ulong[][])typeof(ConcurrentRankedSet).GetField("_levels", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(set)!;
        Assert.Equal(3, levels.Length);
        levels[1][0] |= 1UL << 3;
        levels[2][0] |= 1UL;

        Assert.Equal(5_000, set.Lowest());
        Assert.True(set.TryPeek(out var peeked));
        Assert.Equal(5_000, peeked);
        Assert.Equal(0UL, levels[1][0]);
        Assert.Equal(2UL, levels[2][0]);
    }

    [Fact]
    public void A_cleared_set_is_as_new_whatever_it_held() =>
        Gen.Select(Gen.Int[4_097, 300_000], Gen.Int.Array[1, 200], Gen.Int.Array[1, 50]).Sample((capacity, before, after) =>
        {
            // Ranks left in it, counted or not (a hint a race left set, a rank put in after its run stopped): none
            // survives the clear, and what the next run puts in comes out lowest first, as from a new set.
            var set = new ConcurrentRankedSet(capacity);
            foreach (var rank in before.Select(r => (int)((uint)r % (uint)capacity)).Distinct())
            {
                set.Add(rank);
            }

            set.Clear();
            Assert.Equal(0, set.Count);
            Assert.False(set.TryPeek(out _));
            Assert.False(set.TryTake(out _));

            var added = after.Select(r => (int)((uint)r % (uint)capacity)).Distinct().ToList();
            foreach (var rank in added)
            {
                set.Add(rank);
            }

            foreach (var expected in added.Order())
            {
                Assert.True(set.TryTake(out var taken));
                Assert.Equal(expected, taken);
            }

            Assert.False(set.TryTake(out _));
        }, iter: 100);

    [Fact]
    public Task Threads_adding_and_taking_at_once_take_every_rank_exactly_once() =>
        Gen.Select(Gen.Int[1, 70_000], Gen.Int[2, 4], Gen.Int, Gen.Int[1, 500]).SampleAsync(async (capacity, threads, seed, tie) =>
        {
            var set = new ConcurrentRankedSet(capacity);
            // Ties of `tie` ranks; odd threads take the last of a tie, as a lane's second loop does.
            var tieEnd = Enumerable.Range(0, capacity).Select(r => Math.Min(capacity - 1, ((r / tie) * tie) + tie - 1)).ToArray();
            var thread = -1;
            var taken = new int[capacity];
            var order = Enumerable.Range(0, capacity).ToArray();
            new Random(seed).Shuffle(order);
            var next = -1;
            var takenCount = 0;
            using var start = new Barrier(threads);

            // Each thread adds the ranks it claims and takes one after each add, or exchanges the rank for the lowest
            // (odd threads first take a share of a better tie, if there is one), so adds, takes and exchanges interleave
            // on every level of the bitmap; what is left is taken once all have added.
            await Task.WhenAll(Enumerable.Range(0, threads).Select(_ => Task.Factory.StartNew(() =>
            {
                var last = Interlocked.Increment(ref thread) % 2 == 1;
                start.SignalAndWait();
                int index;
                while ((index = Interlocked.Increment(ref next)) < capacity)
                {
                    if (index % 2 == 0)
                    {
                        int rank;
                        if (last && set.TryTakeShareBefore(tieEnd, tieEnd[order[index]], out var word) is var share and not 0)
                        {
                            // A share of a better tie, taken ahead of the rank, which goes in (a loop's take from
                            // another's set): its first is taken, the rest put back as a share.
                            set.Add(order[index]);
                            rank = (word << 6) + System.Numerics.BitOperations.TrailingZeroCount(share);
                            if ((share &= share - 1) != 0)
                            {
                                set.AddShare(word, share);
                            }
                        }
                        else
                        {
                            rank = set.Exchange(order[index], out _);
                        }

                        Interlocked.Increment(ref taken[rank]);
                        Interlocked.Increment(ref takenCount);
                    }
                    else
                    {
                        set.Add(order[index]);
                        if (set.TryTake(out var rank, last ? tieEnd : null))
                        {
                            Interlocked.Increment(ref taken[rank]);
                            Interlocked.Increment(ref takenCount);
                        }
                    }
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))).Within();

            while (set.TryTake(out var rank))
            {
                taken[rank]++;
                takenCount++;
            }

            Assert.Equal(capacity, takenCount);
            Assert.All(taken, count => Assert.Equal(1, count));
            Assert.Equal(0, set.Count);
            Assert.False(set.TryPeek(out _));
        }, iter: 60);
}
