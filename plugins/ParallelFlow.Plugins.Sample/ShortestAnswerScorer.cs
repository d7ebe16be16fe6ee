using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Sample;

/// <summary>The <c>shortest</c> scorer: the shorter a candidate's answer, the higher its score (1 for the shortest).
/// <c>count</c> says what is counted: <c>characters</c> (the default) or <c>words</c>.</summary>
public sealed class ShortestAnswerScorer : ParallelFlowScorer<string>
{
    /// <inheritdoc/>
    protected override string Bind(ParameterReader reader) => reader.OneOf("count", "characters", "words") ?? "characters";

    /// <inheritdoc/>
    protected override ValueTask<ScoreCard> ScoreAsync(ScoringRequest request, string count, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Candidates.Count == 0)
        {
            throw new FatalTaskException("there are no candidates to score");
        }

        int Length(Candidate c) => count == "words"
            ? c.Result.ToString().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length
            : c.Result.ToString().Length;
        var shortest = request.Candidates.Min(Length);
        var scores = request.Candidates.ToDictionary(
            c => c.Name,
            c =>
            {
                var score = (shortest + 1.0) / (Length(c) + 1.0);
                return new CandidateScore(score, new Dictionary<string, double> { ["brevity"] = score });
            });
        var winner = request.Candidates.First(c => Length(c) == shortest).Name;
        return ValueTask.FromResult(new ScoreCard(scores, $"'{winner}' gave the shortest answer ({shortest} {count})"));
    }
}
