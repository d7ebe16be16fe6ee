namespace ParallelFlow.Engine.Diagnostics;

/// <summary>"Did you mean": the known name closest to a typo, worked out as the SDK's <see cref="Sdk.ParameterReader"/>
/// does, so the engine and plugins suggest alike.</summary>
internal static class Suggestions
{
    public static string? Closest(string typed, IEnumerable<string> known) => Sdk.Suggestions.Closest(typed, known);
}
