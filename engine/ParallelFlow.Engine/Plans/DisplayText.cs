namespace ParallelFlow.Engine.Plans;

/// <summary>Shortens text taken from a plan before it goes into a message: a 20-million-character key must give a
/// one-line error, not echo the key back.</summary>
internal static class DisplayText
{
    /// <summary>The longest name or value shown whole in a message.</summary>
    public const int MaxShown = 80;

    public static string Shorten(string text) =>
        text.Length <= MaxShown ? text : $"{text[..(MaxShown - 20)]}…({text.Length:N0} characters)";

    /// <summary>The known name closest to a mistyped one, for "did you mean"; null when none is close.</summary>
    public static string? Suggest(string typed, IEnumerable<string> known) => Sdk.Suggestions.Closest(typed, known);
}
