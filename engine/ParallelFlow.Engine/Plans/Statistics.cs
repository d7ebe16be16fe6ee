namespace ParallelFlow.Engine.Plans;

/// <summary>The robust statistic learned estimates use, for the journal and for a plan alike.</summary>
internal static class Statistics
{
    /// <summary>The middle value, or the mean of the two middle ones; the values need not be sorted.</summary>
    public static T Median<T>(IEnumerable<T> values)
        where T : System.Numerics.INumber<T>
    {
        var sorted = values.Order().ToList();
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / (T.One + T.One);
    }
}
