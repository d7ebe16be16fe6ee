namespace ParallelFlow.Sdk;

/// <summary>The resources one task used, as reported by its worker.</summary>
/// <param name="InputTokens">Tokens sent to a model.</param>
/// <param name="OutputTokens">Tokens received from a model.</param>
/// <param name="Cost">Money spent, in the unit the run's budget uses.</param>
public readonly record struct TaskUsage(long InputTokens, long OutputTokens, decimal Cost)
{
    /// <summary>No usage.</summary>
    public static TaskUsage None => default;

    /// <summary>Input and output tokens together.</summary>
    public long TotalTokens => InputTokens + OutputTokens;
}
