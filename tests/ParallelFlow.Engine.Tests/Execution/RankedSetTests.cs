using CsCheck;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>The ready set of the fixed-order strategies gives up its lowest rank first, whatever the order of adds and
/// takes and however many levels its capacity needs: checked against a sorted set on random operations.</summary>
public sealed class RankedSetTests
{
    [Fact]
    public void Adds_and_takes_in_any_order_give_the_lowest_rank_first() =>
        Gen.Select(Gen.Int[1, 300_000], Gen.Int, Gen.Int[1, 2_000], (capacity, seed, operations) => (capacity, seed, operations)).Sample(c =>
        {
            var random = new Random(c.seed);
            var set = new RankedSet(c.capacity);
            var model = new SortedSet<int>();
            for (var i = 0; i < c.operations; i++)
            {
                if (model.Count > 0 && random.Next(3) == 0)
                {
                    Assert.True(set.TryPeek(out var peeked));
                    Assert.True(set.TryTake(out var taken));
                    Assert.Equal((model.Min, model.Min), (peeked, taken));
                    model.Remove(model.Min);
                }
                else
                {
                    // Clustered and spread ranks both: neighbours share words, far ones share only the upper levels.
                    var rank = random.Next(2) == 0 ? random.Next(c.capacity) : Math.Min(c.capacity - 1, (model.Count > 0 ? model.Max : 0) + random.Next(3));
                    if (model.Add(rank))
                    {
                        set.Add(rank);
                    }
                }

                Assert.Equal(model.Count, set.Count);
            }

            while (model.Count > 0)
            {
                Assert.True(set.TryTake(out var taken));
                Assert.Equal(model.Min, taken);
                model.Remove(model.Min);
            }

            Assert.False(set.TryPeek(out _));
            Assert.False(set.TryTake(out _));
        }, iter: 200);

    [Fact]
    public void The_extremes_of_a_million_ranks_are_found()
    {
        var set = new RankedSet(1_000_000);
        set.Add(999_999);
        set.Add(0);
        set.Add(262_144);

        Assert.Equal([0, 262_144, 999_999], [Take(set), Take(set), Take(set)]);
        Assert.Equal(0, set.Count);
    }

    private static int Take(RankedSet set) => set.TryTake(out var rank) ? rank : -1;
}
