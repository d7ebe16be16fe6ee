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

    public static IReadOnlyDictionary<string, TValue> Dictionary<TValue>(IReadOnlyDictionary<string, TValue> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value is ImmutableDictionary<string, TValue> immutable && immutable.KeyComparer == StringComparer.Ordinal
            ? immutable
            : ImmutableDictionary.CreateRange(StringComparer.Ordinal, value);
    }

    private static class Empty<T>
    {
        public static readonly IReadOnlyList<T> Value = ImmutableArray<T>.Empty;
    }
}
