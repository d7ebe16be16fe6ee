namespace ParallelFlow.Engine.Tests.Support;

/// <summary>Ties of ranked places for the ready sets' tests: runs of consecutive places of random lengths.</summary>
internal static class RandomTies
{
    /// <summary>Each of <paramref name="capacity"/> places' last tied place, in runs up to <paramref name="longestTie"/>
    /// long.</summary>
    public static int[] Make(int capacity, int longestTie, int seed)
    {
        var tieEnd = new int[capacity];
        var random = new Random(seed);
        for (var start = 0; start < capacity;)
        {
            var end = Math.Min(capacity, start + random.Next(1, longestTie + 1)) - 1;
            for (var place = start; place <= end; place++)
            {
                tieEnd[place] = end;
            }

            start = end + 1;
        }

        return tieEnd;
    }
}
