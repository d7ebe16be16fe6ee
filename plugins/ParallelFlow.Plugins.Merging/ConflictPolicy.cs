using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Merging;

/// <summary>What a merger does when sections disagree. Whatever it is, every conflict is reported.</summary>
internal enum ConflictPolicy
{
    /// <summary>Keep the first section's version and list the conflict as unresolved, for manual review (the default).</summary>
    Mark,

    /// <summary>Fail the merge, naming every conflict.</summary>
    Fail,

    /// <summary>Keep the first section's version; the conflict is resolved.</summary>
    PreferFirst,

    /// <summary>Keep the last section's version; the conflict is resolved.</summary>
    PreferLast,
}

/// <summary>A merger's parameters as it read them from the plan; each merger reads only its own keys.</summary>
public sealed class MergeSettings
{
    internal ConflictPolicy Policy { get; init; }

    internal string? Separator { get; init; }

    internal string? Header { get; init; }

    internal string? OutputFile { get; init; }

    internal string? BaseDir { get; init; }

    internal string? OutputDir { get; init; }

    internal string? Language { get; init; }

    internal bool ConcatArrays { get; init; } = true;

    internal string? Report { get; init; }
}

internal static class MergeParameters
{
    public static ConflictPolicy Policy(ParameterReader reader) =>
        reader.OneOf("policy", "mark", "fail", "prefer_first", "prefer_last") switch
        {
            "fail" => ConflictPolicy.Fail,
            "prefer_first" => ConflictPolicy.PreferFirst,
            "prefer_last" => ConflictPolicy.PreferLast,
            _ => ConflictPolicy.Mark,
        };

    /// <summary>Throws for policy <c>fail</c> when there are conflicts.</summary>
    public static void ThrowIfFailing(ConflictPolicy policy, IReadOnlyList<MergeConflict> conflicts)
    {
        if (policy == ConflictPolicy.Fail && conflicts.Count > 0)
        {
            throw new FatalTaskException($"{conflicts.Count} merge conflict(s): {string.Join("; ", conflicts.Select(c => $"{c.Location}: {c.Description}"))}");
        }
    }
}
