namespace ParallelFlow.Sdk;

/// <summary>A scorer's judgement of the candidates of one vote.</summary>
/// <param name="Scores">Each judged candidate's score, keyed by candidate name.</param>
/// <param name="Rationale">Why the scores came out this way, in a sentence or two for the report.</param>
public sealed record ScoreCard(IReadOnlyDictionary<string, CandidateScore> Scores, string Rationale);
