using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Sample;

/// <summary>The <c>shortest</c> scorer: the shorter a candidate's answer, the higher its score (1 for the shortest).</summary>
public sealed class ShortestAnswerScorer : ParallelFlowScorer
{
    /// <inheritdoc/>
    public override ValueTask<ScoreCard> ScoreAsync(ScoringRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Candidates.Count == 0)
        {
            throw new FatalTaskException("there are no candidates to score");
        }

        var shortest = request.Candidates.Min(c => c.Result.ToString().Length);
        var scores = request.Candidates.ToDictionary(
            c => c.Name,
            c =>
            {
                var score = (shortest + 1.0) / (c.Result.ToString().Length + 1.0);
                return new CandidateScore(score, new Dictionary<string, double> { ["brevity"] = score });
            });
        var winner = request.Candidates.First(c => c.Result.ToString().Length == shortest).Name;
        return ValueTask.FromResult(new ScoreCard(scores, $"'{winner}' gave the shortest answer ({shortest} characters)"));
    }
}
