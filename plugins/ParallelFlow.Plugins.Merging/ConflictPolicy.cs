using System.Text.Json;
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

internal static class MergeParameters
{
    public static readonly string[] PolicyNames = ["mark", "fail", "prefer_first", "prefer_last"];

    public static ConflictPolicy Policy(JsonElement with) =>
        Text(with, "policy") switch
        {
            "fail" => ConflictPolicy.Fail,
            "prefer_first" => ConflictPolicy.PreferFirst,
            "prefer_last" => ConflictPolicy.PreferLast,
            _ => ConflictPolicy.Mark,
        };

    public static string? Text(JsonElement with, string key) =>
        with.ValueKind == JsonValueKind.Object && with.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>Unknown keys and a bad policy, for <see cref="ParallelFlowMerger"/> validation.</summary>
    public static List<ParameterProblem> Check(JsonElement with, string[] keys)
    {
        var problems = new List<ParameterProblem>();
        if (with.ValueKind != JsonValueKind.Object)
        {
            return problems;
        }

        foreach (var property in with.EnumerateObject().Where(p => Array.IndexOf(keys, p.Name) < 0))
        {
            problems.Add(new ParameterProblem(property.Name, $"unknown key '{property.Name}'. Known keys: {string.Join(", ", keys)}"));
        }

        if (Text(with, "policy") is { } policy && Array.IndexOf(PolicyNames, policy) < 0)
        {
            problems.Add(new ParameterProblem("policy", $"'policy' must be one of {string.Join(", ", PolicyNames)}"));
        }

        return problems;
    }

    /// <summary>Throws for policy <c>fail</c> when there are conflicts.</summary>
    public static void ThrowIfFailing(ConflictPolicy policy, IReadOnlyList<MergeConflict> conflicts)
    {
        if (policy == ConflictPolicy.Fail && conflicts.Count > 0)
        {
            throw new FatalTaskException($"{conflicts.Count} merge conflict(s): {string.Join("; ", conflicts.Select(c => $"{c.Location}: {c.Description}"))}");
        }
    }
}
