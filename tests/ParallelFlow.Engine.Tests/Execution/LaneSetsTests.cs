using CsCheck;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>A lane run's ready sets, one per worker (<see cref="LaneSets"/>): a loop runs what it made ready or takes
/// from its own set while no other set holds a better tie, and takes a share of a better tie from the far end of the set
/// that holds it; an owner that takes the last of its best tie shows its next at once; on one thread the tie taken is always the best there is; with a thread per set at once, every rank put in is
/// taken exactly once.</summary>
public sealed class LaneSetsTests
{
    // Ties of ten places: 0–9, 10–19, …
    private static readonly int[] TensTied = [.. Enumerable.Range(0, 100).Select(place => (place / 10 * 10) + 9)];

    [Fact]
    public void A_loop_runs_what_it_made_ready_when_nothing_better_waits()
    {
        var sets = TwoSets(TensTied, 1, 45);

        Assert.Equal(15, Next(sets, 0, 15));
        Assert.Equal(1, sets.Count);
    }

    [Fact]
    public void A_loop_takes_its_own_better_rank_first_and_what_it_made_ready_waits_in_its_set()
    {
        var sets = TwoSets(TensTied, 0, 3);

        Assert.Equal(3, Next(sets, 0, 25));
        // The other loop finds nothing of its own: it takes from the first loop's set.
        Assert.Equal(25, Next(sets, 1, -1));
        Assert.Equal(0, sets.Count);
    }

    [Fact]
    public void A_better_tie_in_another_set_is_taken_from_the_end_its_owner_reaches_last()
    {
        var sets = TwoSets(TensTied, 1, 1, 4, 7);

        // Loop 0 made 12 ready (a later tie): it takes a share of tie 0–9 from set 1's far end, its later half (4 and
        // 7), runs 4 and keeps 7 in its own set, where 12 waits too.
        Assert.Equal(4, Next(sets, 0, 12));
        // The owner goes on from its end of the tie.
        Assert.Equal(1, Next(sets, 1, -1));
        // Out of the tie, it takes the rest of it back from loop 0's set before a later tie.
        Assert.Equal(7, Next(sets, 1, -1));
        // Then only a later tie is left: 12, in loop 0's set.
        Assert.Equal(12, Next(sets, 1, -1));
        Assert.Equal(0, sets.Count);
    }

    [Fact]
    public void The_rest_of_a_share_in_the_loop_s_own_set_is_reported_so_that_a_free_worker_is_looked_for()
    {
        var sets = TwoSets(TensTied, 1, 1, 4, 7, 23);

        // A share of 4 and 7: 7 goes in set 0.
        var put = false;
        Assert.Equal(4, Next(sets, 0, -1, ref put));
        Assert.True(put);
        // A share of one (1, the rest of tie 0–9 in set 1, is its owner's; then 7 from set 0): nothing goes in a set.
        put = false;
        Assert.Equal(1, Next(sets, 1, -1, ref put));
        Assert.Equal(7, Next(sets, 1, -1, ref put));
        Assert.False(put);
        Assert.Equal(23, Next(sets, 1, -1, ref put));
        Assert.False(put);
    }

    [Fact]
    public void Between_its_looks_a_loop_of_short_tasks_runs_its_own_best_and_takes_a_share_of_a_tie_still_there_at_its_next_look()
    {
        var sets = TieZeroToNineInSetOne(window: 100);

        // Loop 0's last task was short (a time given): its look finds tie 0–9 in set 1, new to it, and it runs 12, which
        // it made ready.
        Assert.Equal(12, Next(sets, 0, 12, now: 1_000));
        // Between looks (50 ticks later), it runs its own best without a look: 15, then 18 from its own set.
        Assert.Equal(15, Next(sets, 0, 15, now: 1_050));
        sets.Add(18, 0);
        Assert.Equal(18, Next(sets, 0, -1, now: 1_099));
        // At its next look the same tie is still there: a share of it from set 1's far end, as at every step before.
        Assert.Equal(4, Next(sets, 0, 21, now: 1_100));
        Assert.Equal(1, Next(sets, 1, -1, now: 1_100));
        Assert.Equal(7, Next(sets, 1, -1, now: 1_100));
        Assert.Equal(21, Next(sets, 1, -1, now: 1_100));
        Assert.Equal(0, sets.Count);
    }

    [Fact]
    public void A_look_after_one_that_passed_a_tie_over_shares_any_better_tie_still_there()
    {
        // Set 1 holds ties 0–9 (1, 4, 7) and 10–19 (11, 14, 17).
        var sets = TieZeroToNineInSetOne(window: 100);
        foreach (var place in new[] { 11, 14, 17 })
        {
            sets.Add(place, 1);
        }

        // Loop 0 passes tie 0–9 over at its look.
        Assert.Equal(52, Next(sets, 0, 52, now: 1_000));
        // Its owner runs through tie 0–9 and shows tie 10–19.
        Assert.Equal(1, Next(sets, 1, -1, now: 1_010));
        Assert.Equal(4, Next(sets, 1, -1, now: 1_020));
        Assert.Equal(7, Next(sets, 1, -1, now: 1_030));
        Assert.Equal(19, Hint(sets, 1));
        // Loop 0's next look finds another better tie than the one it passed over: it shares it all the same (its later
        // half, 14 and 17).
        Assert.Equal(14, Next(sets, 0, 55, now: 1_100));
    }

    [Fact]
    public void A_loop_whose_last_task_was_long_or_that_has_nothing_of_its_own_looks_at_every_step()
    {
        // A long task (0), with nothing passed over before: a look, and a share of the better tie at once.
        var sets = TieZeroToNineInSetOne(window: 100);
        Assert.Equal(4, Next(sets, 0, 15, now: 0));

        // After short tasks: a look (7, the share's rest, ties with set 1's 1), then its own 15 between looks, though 1
        // waits in set 1.
        Assert.Equal(7, Next(sets, 0, -1, now: 1_000));
        Assert.Equal(15, Next(sets, 0, -1, now: 1_010));
        // Between looks, but with nothing of its own: a look, and the better tie taken from set 1.
        Assert.Equal(1, Next(sets, 0, -1, now: 1_020));
        Assert.Equal(0, sets.Count);
    }

    [Fact]
    public void Without_a_window_a_loop_looks_at_every_step_whatever_time_it_gives()
    {
        var sets = TieZeroToNineInSetOne(window: 0);

        Assert.Equal(4, Next(sets, 0, 12, now: 1_000));
    }

    [Fact]
    public void A_loop_keeps_to_its_own_tie_while_another_set_holds_the_same_tie()
    {
        var sets = TwoSets(TensTied, 1, 2);

        // 8 ties with 2: loop 0 runs it, and 2 stays with its owner.
        Assert.Equal(8, Next(sets, 0, 8));
        Assert.Equal(2, Next(sets, 1, -1));
    }

    [Fact]
    public void A_hint_left_behind_by_its_owner_costs_a_look_and_is_put_right()
    {
        // With ties of one place each an owner does not put its hint right as it takes (each take would write it): it
        // lags.
        var sets = TwoSets([.. Enumerable.Range(0, 100)], 1, 2, 31);
        // The owner takes 2; its hint still shows 2.
        Assert.Equal(2, Next(sets, 1, -1));
        Assert.Equal(2, Hint(sets, 1));

        // Loop 0 looks, finds only 31 there, and keeps its own 15.
        Assert.Equal(15, Next(sets, 0, 15));
        // Put right: 25 is no longer passed over for the hint, and 31 stays with its owner.
        Assert.Equal(31, Hint(sets, 1));
        Assert.Equal(25, Next(sets, 0, 25));
        Assert.Equal(31, Next(sets, 1, -1));
    }

    [Fact]
    public void An_owner_that_takes_the_last_of_its_best_tie_puts_its_hint_right()
    {
        var sets = TwoSets(TensTied, 1, 2, 5, 31);
        Assert.Equal(9, Hint(sets, 1));

        // 5 is left of tie 0–9: the hint stays.
        Assert.Equal(2, Next(sets, 1, -1));
        Assert.Equal(9, Hint(sets, 1));
        // The last of it: the owner shows tie 30–39 at once, so no other loop looks for tie 0–9 there.
        Assert.Equal(5, Next(sets, 1, -1));
        Assert.Equal(39, Hint(sets, 1));
        // And nothing once its set is empty.
        Assert.Equal(31, Next(sets, 1, -1));
        Assert.Equal(int.MaxValue, Hint(sets, 1));
    }

    [Fact]
    public void Without_ties_every_place_is_a_tie_of_its_own()
    {
        var sets = TwoSets(null, 1, 5, 6);

        // A lower place elsewhere is a better tie: taken over 9.
        Assert.Equal(5, Next(sets, 0, 9));
        Assert.Equal(6, Next(sets, 1, -1));
        Assert.Equal(9, Next(sets, 1, -1));
    }

    [Fact]
    public void Loops_claim_sets_of_their_own_while_there_are_any_and_share_one_after()
    {
        var sets = new LaneSets(100, 2);
        var first = sets.Claim();
        var second = sets.Claim();
        Assert.Equal([0, 1], new[] { first, second });

        // A third loop at once (one that has just given its worker back and not yet ended, beside its successor):
        // a set shared, not held.
        var third = sets.Claim();
        Assert.NotEqual(0, third & LaneSets.Shared);
        Assert.InRange(LaneSets.SetOf(third), 0, 1);
        sets.Release(ref third);
        Assert.Equal(-1, third);

        // Its sharing gave nothing back: a set is free again only when its holder gives it back.
        Assert.NotEqual(0, sets.Claim() & LaneSets.Shared);
        sets.Release(ref first);
        Assert.Equal(0, sets.Claim());
    }

    [Fact]
    public void A_run_claims_sets_afresh_whatever_the_last_run_left_held()
    {
        // The loop that finished a run may still hold its set when the plan's next run starts: the next run's loops
        // must not meet in one set for it.
        var sets = new LaneSets(100, 2);
        _ = sets.Claim();
        _ = sets.Claim();
        sets.Clear();

        Assert.Equal([0, 1], new[] { sets.Claim(), sets.Claim() });
    }

    [Fact]
    public void Cleared_sets_are_as_new()
    {
        var sets = new LaneSets(100, 3);
        sets.Begin(TensTied);
        sets.Add(1, 0);
        sets.Add(2, 1);
        sets.Add(3, 2);
        sets.Clear();

        Assert.Equal(0, sets.Count);
        Assert.False(sets.TryTake(out _));
        // No hint is left to send a loop to an empty set: it runs what it made ready.
        Assert.Equal(50, Next(sets, 0, 50));
    }

    [Fact]
    public void On_one_thread_the_tie_taken_is_the_best_of_every_set_and_what_was_made_ready() =>
        Gen.Select(Gen.Int[1, 3_000], Gen.Int[1, 40], Gen.Int[1, 4], Gen.Int.Array[1, 300]).Sample((capacity, longestTie, stripes, operations) =>
        {
            var tieEnd = RandomTies.Make(capacity, longestTie, capacity ^ longestTie);
            var sets = new LaneSets(capacity, stripes);
            sets.Begin(tieEnd);
            var held = new HashSet<int>();
            foreach (var operation in operations)
            {
                var stripe = (int)((uint)operation % (uint)stripes);
                var rank = (int)((uint)(operation >> 2) % (uint)capacity);
                if ((operation & 0x10000) != 0 && !held.Contains(rank))
                {
                    sets.Add(rank, stripe);
                    held.Add(rank);
                    continue;
                }

                // A loop that made `rank` ready (or nothing).
                var made = (operation & 0x20000) != 0 && !held.Contains(rank) ? rank : -1;
                var best = held.Select(r => tieEnd[r]).Append(made < 0 ? int.MaxValue : tieEnd[made]).Min();
                var next = Next(sets, stripe, made);
                if (best == int.MaxValue)
                {
                    Assert.Equal(-1, next);
                    continue;
                }

                Assert.Equal(best, tieEnd[next]);
                if (made >= 0)
                {
                    held.Add(made);
                }

                Assert.True(held.Remove(next));
                Assert.Equal(held.Count, sets.Count);
            }

            while (sets.TryTake(out var left))
            {
                Assert.True(held.Remove(left));
            }

            Assert.Empty(held);
        }, iter: 300);

    [Fact]
    public Task A_thread_per_set_at_once_takes_every_rank_exactly_once() =>
        Gen.Select(Gen.Int[1, 50_000], Gen.Int[2, 4], Gen.Int, Gen.Int[1, 300]).SampleAsync(async (capacity, threads, seed, longestTie) =>
        {
            var sets = new LaneSets(capacity, threads);
            // Half the cases with loops that look once a window (20 µs), as a run's loops of short tasks do.
            var window = seed % 2 == 0 ? System.Diagnostics.Stopwatch.Frequency / 50_000 : 0;
            sets.Begin(RandomTies.Make(capacity, longestTie, seed), window);
            var taken = new int[capacity];
            var order = Enumerable.Range(0, capacity).ToArray();
            new Random(seed).Shuffle(order);
            var next = -1;
            var takenCount = 0;
            var stripe = -1;
            using var start = new Barrier(threads);

            // Each thread is a loop with a set of its own: it makes ranks ready (one run at once, others added to its
            // set) and takes its next, so adds, takes from its own set and takes from the others' interleave.
            await Task.WhenAll(Enumerable.Range(0, threads).Select(_ => Task.Factory.StartNew(() =>
            {
                var own = Interlocked.Increment(ref stripe);
                start.SignalAndWait();
                int index;
                while ((index = Interlocked.Add(ref next, 2) - 1) < capacity)
                {
                    if (index + 1 < capacity)
                    {
                        sets.Add(order[index + 1], own);
                    }

                    var rank = Next(sets, own, order[index], System.Diagnostics.Stopwatch.GetTimestamp());
                    Interlocked.Increment(ref taken[rank]);
                    Interlocked.Increment(ref takenCount);
                    if (index % 3 == 0 && Next(sets, own, -1, System.Diagnostics.Stopwatch.GetTimestamp()) is var more and >= 0)
                    {
                        Interlocked.Increment(ref taken[more]);
                        Interlocked.Increment(ref takenCount);
                    }
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))).Within();

            while (sets.TryTake(out var rank))
            {
                taken[rank]++;
                takenCount++;
            }

            Assert.Equal(capacity, takenCount);
            Assert.All(taken, count => Assert.Equal(1, count));
            Assert.Equal(0, sets.Count);
        }, iter: 60);

    /// <summary>Two sets on <paramref name="ties"/>, set <paramref name="set"/> holding <paramref name="places"/>.</summary>
    private static LaneSets TwoSets(int[]? ties, int set, params int[] places)
    {
        var sets = new LaneSets(100, 2);
        sets.Begin(ties);
        foreach (var place in places)
        {
            sets.Add(place, set);
        }

        return sets;
    }

    /// <summary>Two sets on <see cref="TensTied"/> whose loops look once every <paramref name="window"/> ticks, set 1
    /// holding tie 0–9 (1, 4, 7).</summary>
    private static LaneSets TieZeroToNineInSetOne(long window)
    {
        var sets = TwoSets(TensTied, 1, 1, 4, 7);
        sets.Begin(TensTied, window);
        return sets;
    }

    /// <summary><see cref="LaneSets.Next"/>, whether or not it put a share in a set; by a loop that does not time its
    /// tasks, unless a time is given. Each set's loop keeps its looks between calls, as an executor loop does.</summary>
    private static int Next(LaneSets sets, int stripe, int made, long now = 0)
    {
        var put = false;
        return Next(sets, stripe, made, ref put, now);
    }

    private static int Next(LaneSets sets, int stripe, int made, ref bool put, long now = 0)
    {
        var looks = Looks.GetValue(sets, s => [.. Enumerable.Repeat(LaneLooks.None, s.Stripes)]);
        return sets.Next(stripe, made, ref put, now, ref looks[stripe]);
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<LaneSets, LaneLooks[]> Looks = [];

    /// <summary>A set's hint: the best tie it shows the other loops.</summary>
    private static int Hint(LaneSets sets, int stripe)
    {
        var hints = (Array)typeof(LaneSets).GetField("_hints", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(sets)!;
        var hint = hints.GetValue(stripe)!;
        return (int)hint.GetType().GetField("Value")!.GetValue(hint)!;
    }
}
