using System.Text.Json;

namespace ParallelFlow.Sdk;

/// <summary>One candidate's answer in a vote.</summary>
/// <param name="Name">The candidate's name, unique within its vote.</param>
/// <param name="Result">What the candidate produced.</param>
/// <param name="Duration">How long the candidate took.</param>
public sealed record Candidate(string Name, TaskResult Result, TimeSpan Duration)
{
    /// <summary>The worker that produced the answer.</summary>
    public string Worker { get; init; } = string.Empty;

    /// <summary>The candidate's parameters (its <c>with</c>), for scorers that must know a model or an approach.</summary>
    public JsonElement Parameters { get; init; }
}
