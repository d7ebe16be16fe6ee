namespace ParallelFlow.Sdk;

/// <summary>What a task is expected to take, for scheduling and budgets before it runs. Any part may be unknown.</summary>
/// <param name="Seconds">Expected duration.</param>
/// <param name="Tokens">Expected tokens, input and output.</param>
/// <param name="Cost">Expected cost.</param>
public sealed record TaskEstimate(double? Seconds = null, long? Tokens = null, decimal? Cost = null);
