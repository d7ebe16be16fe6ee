using System.Text.Json;

namespace ParallelFlow.Sdk;

/// <summary>The candidates of one vote, handed to a <see cref="ParallelFlowScorer"/>.</summary>
public sealed class ScoringRequest
{
    /// <summary>The vote task's id.</summary>
    public required string TaskId { get; init; }

    /// <summary>The vote task's description: what the candidates were asked to do.</summary>
    public string Description { get; init; } = string.Empty;

    /// <summary>The scorer's parameters from the plan.</summary>
    public JsonElement With { get; init; }

    /// <summary>The parameters as the scorer bound them (<see cref="ParallelFlowScorer.BindParameters"/>), or null.</summary>
    public object? Parameters { get; init; }

    /// <summary>The candidates that succeeded, in the order the plan lists them.</summary>
    public required IReadOnlyList<Candidate> Candidates { get; init; }

    /// <summary>Candidates that failed, timed out or were cancelled, by name, with what went wrong. They cannot win.</summary>
    public IReadOnlyDictionary<string, string> FailedCandidates { get; init; } = new Dictionary<string, string>();

    /// <summary>The other workers and mergers, for judges, benchmarks and synthesis. Never null when the engine calls.</summary>
    public ITaskServices? Services { get; init; }
}
