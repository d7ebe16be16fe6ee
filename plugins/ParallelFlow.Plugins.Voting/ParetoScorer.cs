using System.Globalization;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Voting;

/// <summary>
/// The <c>pareto</c> scorer: the candidates no other candidate beats on every criterion form the front; among them
/// the highest weighted score wins (ties to the candidate listed first). Dominated candidates are named with the
/// candidate that dominates them.
/// </summary>
public sealed class ParetoScorer : ParallelFlowScorer<CriteriaSettings>
{
    /// <inheritdoc/>
    protected override CriteriaSettings Bind(ParameterReader reader) => new(Criterion.ReadAll(reader, required: true));

    /// <inheritdoc/>
    protected override async ValueTask<ScoreCard> ScoreAsync(ScoringRequest request, CriteriaSettings parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var table = await WeightedScorer.Measure(request, parameters.Criteria, cancellationToken).ConfigureAwait(false);
        var n = request.Candidates.Count;
        var dominator = new int?[n];
        for (var a = 0; a < n; a++)
        {
            for (var b = 0; b < n && dominator[a] is null; b++)
            {
                if (b != a && Dominates(table, b, a))
                {
                    dominator[a] = b;
                }
            }
        }

        var front = Enumerable.Range(0, n).Where(i => dominator[i] is null).ToList();
        var winner = front.OrderByDescending(table.Total).ThenBy(i => i).First();
        var scores = new Dictionary<string, CandidateScore>();
        for (var i = 0; i < n; i++)
        {
            var criteria = table.Score(i).Criteria.ToDictionary(x => x.Key, x => x.Value);
            criteria["pareto_front"] = dominator[i] is null ? 1 : 0;

            // Front members rank above every dominated candidate; the weighted score orders within each group.
            scores[request.Candidates[i].Name] = new CandidateScore((dominator[i] is null ? 1 : 0) + table.Total(i), criteria);
        }

        var names = request.Candidates.Select(c => c.Name).ToArray();
        var dominated = Enumerable.Range(0, n).Where(i => dominator[i] is not null).Select(i => $"{names[i]} is dominated by {names[dominator[i]!.Value]}").ToList();
        var rationale = string.Create(CultureInfo.InvariantCulture,
            $"Pareto front over {string.Join(", ", table.Criteria.Select(c => c.Name))}: {string.Join(", ", front.Select(i => names[i]))}. {names[winner]} wins the front on weights ({table.Total(winner):0.000}): {table.Strengths(winner)}.{(dominated.Count > 0 ? $" {string.Join("; ", dominated)}." : string.Empty)}{WeightedScorer.Failed(request)}{WeightedScorer.Notes(table)}");
        var details = table.Details(writer =>
        {
            writer.WriteStartArray("front");
            foreach (var i in front)
            {
                writer.WriteStringValue(names[i]);
            }

            writer.WriteEndArray();
        });
        return new ScoreCard(scores, rationale) { Winner = names[winner], Details = details };
    }

    private static bool Dominates(CriteriaTable table, int a, int b)
    {
        var better = false;
        for (var k = 0; k < table.Criteria.Count; k++)
        {
            if (table.Normalised[k][a] < table.Normalised[k][b] - 1e-12)
            {
                return false;
            }

            better |= table.Normalised[k][a] > table.Normalised[k][b] + 1e-12;
        }

        return better;
    }
}
