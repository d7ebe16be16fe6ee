namespace ParallelFlow.Sdk;

/// <summary>One candidate's answer in a vote.</summary>
/// <param name="Name">The candidate's name, unique within its vote.</param>
/// <param name="Result">What the candidate produced.</param>
/// <param name="Duration">How long the candidate took.</param>
public sealed record Candidate(string Name, TaskResult Result, TimeSpan Duration);
