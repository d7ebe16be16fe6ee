using System.Collections.Immutable;

namespace ParallelFlow.Engine.Plans;

/// <summary>Copies what a plan is given into collections nobody else holds, so a plan cannot change after it was made —
/// not through a list the caller kept, nor through a cast. What is already immutable is kept as it is.</summary>
internal static class Immutable
{
    public static IReadOnlyList<T> List<T>(IReadOnlyList<T> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value switch
        {
            ImmutableArray<T> array => array,
            { Count: 0 } => Empty<T>.Value,
            _ => ImmutableArray.CreateRange(value),
        };
    }

    /// <summary>A copy in the order given (messages list keys in that order), which nobody else holds.</summary>
    public static IReadOnlyDictionary<string, TValue> Dictionary<TValue>(IReadOnlyDictionary<string, TValue> value, StringComparer? comparer = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new Dictionary<string, TValue>(value, comparer ?? StringComparer.Ordinal).AsReadOnly();
    }

    private static class Empty<T>
    {
        public static readonly IReadOnlyList<T> Value = ImmutableArray<T>.Empty;
    }
}
