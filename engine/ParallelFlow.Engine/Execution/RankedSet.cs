using System.Numerics;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// A set of ranks in [0, capacity) that gives up its lowest first: a bitmap with a summary level above it for every 64
/// words below, so that adding a rank and taking the lowest each touch one word per level — three for a million
/// ranks — where a binary heap of that many ready tasks walks twenty levels of an array too large for the cache.
/// </summary>
/// <remarks>For the built-in strategies whose order is fixed per task (a permutation of the plan's tasks): the critical
/// path and the shortest first. Not thread-safe: the scheduling step owns it.</remarks>
internal sealed class RankedSet
{
    // _levels[0] holds a bit per rank; _levels[k + 1] a bit per word of _levels[k] that is not zero; the last level is
    // one word.
    private readonly ulong[][] _levels;

    public RankedSet(int capacity) => _levels = Levels(capacity);

    /// <summary>The empty levels of a bitmap of <paramref name="capacity"/> ranks: a bit per rank, then a bit per word
    /// of the level below, up to a level of one word (also <see cref="ConcurrentRankedSet"/>'s).</summary>
    internal static ulong[][] Levels(int capacity)
    {
        var count = 0;
        for (var bits = Math.Max(1, capacity); ; bits = (bits + 63) >> 6)
        {
            count++;
            if (bits <= 64)
            {
                break;
            }
        }

        var levels = new ulong[count][];
        for (int k = 0, bits = Math.Max(1, capacity); k < count; k++, bits = (bits + 63) >> 6)
        {
            levels[k] = new ulong[(bits + 63) >> 6];
        }

        return levels;
    }

    /// <summary>How many ranks the set holds.</summary>
    public int Count { get; private set; }

    /// <summary>Adds a rank that is not in the set.</summary>
    public void Add(int rank)
    {
        Count++;
        var index = rank;
        foreach (var level in _levels)
        {
            var word = index >> 6;
            var was = level[word];
            level[word] = was | (1UL << (index & 63));
            if (was != 0)
            {
                // The levels above already know this word is not empty.
                return;
            }

            index = word;
        }
    }

    /// <summary>The lowest rank, without taking it.</summary>
    public bool TryPeek(out int rank)
    {
        var top = _levels[^1][0];
        if (top == 0)
        {
            rank = -1;
            return false;
        }

        var index = BitOperations.TrailingZeroCount(top);
        for (var k = _levels.Length - 2; k >= 0; k--)
        {
            index = (index << 6) + BitOperations.TrailingZeroCount(_levels[k][index]);
        }

        rank = index;
        return true;
    }

    /// <summary>Takes the lowest rank.</summary>
    public bool TryTake(out int rank)
    {
        if (!TryPeek(out rank))
        {
            return false;
        }

        Remove(rank);
        return true;
    }

    /// <summary>Takes a rank the set holds (the lowest, just peeked, say) without finding it again.</summary>
    public void Remove(int rank)
    {
        Count--;
        var index = rank;
        foreach (var level in _levels)
        {
            var word = index >> 6;
            var now = level[word] & ~(1UL << (index & 63));
            level[word] = now;
            if (now != 0)
            {
                // The word still holds ranks: the levels above stay as they are.
                break;
            }

            index = word;
        }
    }
}
