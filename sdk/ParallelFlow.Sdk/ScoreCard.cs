using System.Text.Json;

namespace ParallelFlow.Sdk;

/// <summary>A scorer's judgement of the candidates of one vote.</summary>
/// <param name="Scores">Each judged candidate's score, keyed by candidate name.</param>
/// <param name="Rationale">Why the scores came out this way, in a sentence or two for the report.</param>
public sealed record ScoreCard(IReadOnlyDictionary<string, CandidateScore> Scores, string Rationale)
{
    /// <summary>
    /// The winner, when the scorer picks it itself (a Pareto front broken by weights, the largest consensus group).
    /// When null, the candidate with the highest <see cref="CandidateScore.Total"/> wins, ties going to the earlier
    /// candidate of the plan.
    /// </summary>
    public string? Winner { get; init; }

    /// <summary>
    /// A new answer built from several candidates (hybrid synthesis). When set, it is the vote's output instead of
    /// the winner's.
    /// </summary>
    public TaskResult? Synthesis { get; init; }

    /// <summary>Anything else the scorer wants kept in the report (groups, the Pareto front, a judge's replies).</summary>
    public JsonElement? Details { get; init; }
}
