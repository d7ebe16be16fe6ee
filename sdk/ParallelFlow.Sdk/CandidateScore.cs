namespace ParallelFlow.Sdk;

/// <summary>One candidate's score.</summary>
/// <param name="Total">The aggregate score; higher is better.</param>
/// <param name="Criteria">The per-criterion scores the total was made of, keyed by criterion name.</param>
public sealed record CandidateScore(double Total, IReadOnlyDictionary<string, double> Criteria);
