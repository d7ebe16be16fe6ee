using System.Globalization;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Voting;

/// <summary>
/// The <c>weighted</c> scorer: each criterion is measured, normalised to 0..1 over the candidates and weighed; the
/// highest weighted mean wins, a tie going to the candidate listed first.
/// </summary>
public sealed class WeightedScorer : ParallelFlowScorer<CriteriaSettings>
{
    /// <inheritdoc/>
    protected override CriteriaSettings Bind(ParameterReader reader) => new(Criterion.ReadAll(reader, required: true));

    /// <inheritdoc/>
    protected override async ValueTask<ScoreCard> ScoreAsync(ScoringRequest request, CriteriaSettings parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var table = await Measure(request, parameters.Criteria, cancellationToken).ConfigureAwait(false);
        var scores = request.Candidates.Select((c, i) => (c.Name, Score: table.Score(i))).ToDictionary(x => x.Name, x => x.Score);
        var order = Enumerable.Range(0, request.Candidates.Count).OrderByDescending(table.Total).ThenBy(i => i).ToList();
        var winner = order[0];
        var others = string.Join("; ", order.Skip(1).Select(i => string.Create(CultureInfo.InvariantCulture, $"{request.Candidates[i].Name} {table.Total(i):0.000}")));
        var tie = order.Count > 1 && Math.Abs(table.Total(order[1]) - table.Total(winner)) < 1e-9 ? " (a tie, broken by plan order)" : string.Empty;
        var rationale = string.Create(CultureInfo.InvariantCulture,
            $"{request.Candidates[winner].Name} has the highest weighted score, {table.Total(winner):0.000}{tie}: {table.Strengths(winner)}.{(others.Length > 0 ? $" Others: {others}." : string.Empty)}{Failed(request)}{Notes(table)}");
        return new ScoreCard(scores, rationale) { Winner = request.Candidates[winner].Name, Details = table.Details() };
    }

    internal static async Task<CriteriaTable> Measure(ScoringRequest request, IReadOnlyList<Criterion> criteria, CancellationToken cancellationToken)
    {
        if (request.Candidates.Count == 0)
        {
            throw new FatalTaskException("there are no candidates to score");
        }

        return await CriteriaTable.MeasureAsync(criteria, request, cancellationToken).ConfigureAwait(false);
    }

    internal static string Failed(ScoringRequest request) =>
        request.FailedCandidates.Count == 0 ? string.Empty : $" Left out: {string.Join("; ", request.FailedCandidates.Select(f => $"{f.Key} ({f.Value})"))}.";

    internal static string Notes(CriteriaTable table) =>
        table.Notes.Count == 0 ? string.Empty : $" Notes: {string.Join("; ", table.Notes)}.";
}
