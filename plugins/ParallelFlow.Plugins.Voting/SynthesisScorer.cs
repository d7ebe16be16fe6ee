using System.Globalization;
using System.Text;
using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Voting;

/// <summary>
/// The <c>synthesis</c> scorer (hybrid): ranks the candidates (on weighted <c>criteria</c> when given, otherwise by
/// how much each agrees with the others), then combines the <c>top</c> ones into one answer, with a registered
/// <c>merger</c> or a <c>worker</c> (a model asked to combine them). The combined answer becomes the vote's output;
/// the best-ranked candidate is recorded as the winner.
/// </summary>
public sealed class SynthesisScorer : ParallelFlowScorer
{
    private static readonly string[] Keys = ["criteria", "top", "merger", "worker"];

    /// <inheritdoc/>
    public override IReadOnlyList<ParameterProblem> ValidateParameters(JsonElement parameters)
    {
        var problems = WeightedScorer.Check(parameters, Keys, criteriaRequired: false).ToList();
        var hasMerger = parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("merger", out var m) && m.ValueKind == JsonValueKind.String;
        var hasWorker = parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("worker", out var w) && w.ValueKind == JsonValueKind.Object && w.TryGetProperty("name", out _);
        if (hasMerger == hasWorker)
        {
            problems.Add(new ParameterProblem(null, "synthesis needs exactly one of 'merger' (a merger's name) or 'worker' ({\"name\": \"llm\", \"with\": {...}, \"instruction\": ...})"));
        }

        if (parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("top", out var top) && (!top.TryGetInt32(out var k) || k < 1))
        {
            problems.Add(new ParameterProblem("top", "'top' must be a whole number of at least 1"));
        }

        return problems;
    }

    /// <inheritdoc/>
    public override async ValueTask<ScoreCard> ScoreAsync(ScoringRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problems = ValidateParameters(request.With);
        if (problems.Count > 0)
        {
            throw new FatalTaskException(string.Join("; ", problems.Select(p => p.Message)));
        }

        var candidates = request.Candidates;
        if (candidates.Count == 0)
        {
            throw new FatalTaskException("there are no candidates to combine");
        }

        var services = request.Services ?? throw new FatalTaskException("synthesis needs the host's task services");
        var with = request.With;
        var scores = new Dictionary<string, CandidateScore>();
        CriteriaTable? table = null;
        if (with.TryGetProperty("criteria", out _))
        {
            table = await WeightedScorer.Measure(request, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < candidates.Count; i++)
            {
                scores[candidates[i].Name] = table.Score(i);
            }
        }
        else
        {
            for (var i = 0; i < candidates.Count; i++)
            {
                var agreement = candidates.Count == 1 ? 1 : candidates.Where((_, j) => j != i).Average(o => TextSimilarity.Cosine(candidates[i].Result.ToString(), o.Result.ToString()));
                scores[candidates[i].Name] = new CandidateScore(agreement, new Dictionary<string, double> { ["agreement"] = agreement });
            }
        }

        var top = with.TryGetProperty("top", out var t) && t.TryGetInt32(out var k) ? k : 2;
        var ranked = candidates.Select((c, i) => (c, i)).OrderByDescending(x => scores[x.c.Name].Total).ThenBy(x => x.i).Select(x => x.c).ToList();
        var chosen = ranked.Take(top).ToList();
        TaskResult synthesis;
        string how;
        if (with.TryGetProperty("merger", out var merger))
        {
            var merged = await services.MergeAsync(merger.GetString()!, new MergeRequest
            {
                TaskId = request.TaskId,
                Sections = [.. chosen.Select(c => new SectionOutput(c.Name, c.Result))],
            }, cancellationToken).ConfigureAwait(false);
            synthesis = merged.Output;
            how = $"merger '{merger.GetString()}'{(merged.Conflicts.Count > 0 ? $" ({merged.Conflicts.Count} conflict(s))" : string.Empty)}";
        }
        else
        {
            var worker = with.GetProperty("worker");
            var name = worker.GetProperty("name").GetString()!;
            synthesis = await services.InvokeWorkerAsync(name, Prompt(request, worker, chosen), "combine the best candidates", chosen.ToDictionary(c => c.Name, c => c.Result), cancellationToken).ConfigureAwait(false);
            how = $"worker '{name}'";
        }

        var basis = table is null ? "agreement with the other answers" : "weighted criteria";
        var rationale = string.Create(CultureInfo.InvariantCulture,
            $"Ranked on {basis}: {string.Join(", ", ranked.Select(c => $"{c.Name} {scores[c.Name].Total:0.000}"))}. The top {chosen.Count} ({string.Join(", ", chosen.Select(c => c.Name))}) were combined by {how} into the output.{WeightedScorer.Failed(request)}");
        return new ScoreCard(scores, rationale) { Winner = ranked[0].Name, Synthesis = synthesis, Details = table?.Details() };
    }

    private static JsonElement Prompt(ScoringRequest request, JsonElement worker, List<Candidate> chosen)
    {
        var instruction = worker.TryGetProperty("instruction", out var i) && i.ValueKind == JsonValueKind.String
            ? i.GetString()!
            : "Combine the best parts of these answers into one answer.";
        var prompt = new StringBuilder();
        prompt.Append("Task: ").AppendLine(request.Description).AppendLine(instruction).AppendLine();
        for (var n = 0; n < chosen.Count; n++)
        {
            prompt.Append(CultureInfo.InvariantCulture, $"Answer {n + 1}:").AppendLine().AppendLine(chosen[n].Result.ToString()).AppendLine();
        }

        return Parameters.With(worker.TryGetProperty("with", out var with) ? with : default, "prompt", prompt.ToString().TrimEnd());
    }
}
