namespace ParallelFlow.Engine.Plans;

/// <summary>
/// How a task's dependencies' outputs are cut down before it receives them (<c>context</c>, on the plan for every task
/// or on a task for itself): an output over <see cref="MaxTokens"/> is compressed by <see cref="Strategy"/>, so that
/// a model call downstream of long outputs stays inside its context window. Outputs within the limit pass as they are.
/// The task's cache key is made from what it received.
/// </summary>
/// <param name="MaxTokens">The most tokens one dependency's output may pass on.</param>
/// <param name="Strategy"><c>truncate_middle</c> (keep the beginning and the end, cut the middle), <c>head_tail</c>
/// (whole lines: two thirds from the top, a third from the bottom), <c>extract</c> (what <see cref="Paths"/> select
/// in a JSON output and what <see cref="Pattern"/> matches, then cut to the limit), or <c>summarize</c> (the
/// <c>llm</c> worker's summary with <see cref="Model"/>).</param>
public sealed record ContextSettings(int MaxTokens, string Strategy = ContextSettings.TruncateMiddle)
{
    /// <summary>Keep the beginning and the end, cut the middle.</summary>
    public const string TruncateMiddle = "truncate_middle";

    /// <summary>Whole lines from the top and the bottom.</summary>
    public const string HeadTail = "head_tail";

    /// <summary>JSON paths and a regular expression.</summary>
    public const string Extract = "extract";

    /// <summary>A model's summary.</summary>
    public const string Summarize = "summarize";

    /// <summary>The strategies, by name.</summary>
    public static IReadOnlyList<string> Strategies { get; } = [TruncateMiddle, HeadTail, Extract, Summarize];

    /// <summary>For <c>extract</c>: paths into a JSON output (<c>items[*].title</c>, <c>summary</c>, <c>$.a.b[0]</c>).</summary>
    public IReadOnlyList<string> Paths { get; init; } = [];

    /// <summary>For <c>extract</c>: a regular expression whose matches (its first group, when it has one) are kept.</summary>
    public string? Pattern { get; init; }

    /// <summary>For <c>summarize</c>: the model the <c>llm</c> worker summarizes with.</summary>
    public string? Model { get; init; }

    /// <summary>About four characters a token, as English text goes in the usual tokenizers: what the engine counts with
    /// until a plugin gives the catalog its model's own tokenizer (<see cref="Workers.WorkerCatalog.TokenCounter"/>).</summary>
    /// <param name="text">The text.</param>
    /// <returns>Its approximate token count.</returns>
    public static int ApproximateTokens(string text) => text is null ? 0 : (text.Length + 3) / 4;
}
