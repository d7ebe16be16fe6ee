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
public sealed class SynthesisScorer : ParallelFlowScorer<SynthesisScorer.Settings>
{
    /// <summary>A synthesis vote's parameters as read from the plan.</summary>
    public sealed class Settings
    {
        internal Settings(IReadOnlyList<Criterion>? criteria, int top, string? merger, string? worker, JsonElement workerWith, string? instruction) =>
            (Criteria, Top, Merger, Worker, WorkerWith, Instruction) = (criteria, top, merger, worker, workerWith, instruction);

        internal IReadOnlyList<Criterion>? Criteria { get; }

        internal int Top { get; }

        internal string? Merger { get; }

        internal string? Worker { get; }

        internal JsonElement WorkerWith { get; }

        internal string? Instruction { get; }
    }

    /// <inheritdoc/>
    protected override Settings Bind(ParameterReader reader)
    {
        var criteria = reader.Has("criteria") ? Criterion.ReadAll(reader, required: false) : null;
        var top = reader.WholeNumber("top", min: 1) ?? 2;
        var merger = reader.Text("merger");
        var worker = reader.Child("worker");
        var workerName = worker?.Text("name", required: true);
        var workerWith = worker?.Nested("with") ?? default;
        var instruction = worker?.Text("instruction");
        if ((merger is null) == (worker is null))
        {
            reader.Problem(null, "synthesis needs exactly one of 'merger' (a merger's name) or 'worker' ({\"name\": \"llm\", \"with\": {...}, \"instruction\": ...})");
        }

        return new Settings(criteria, top, merger, workerName, workerWith, instruction);
    }

    /// <inheritdoc/>
    protected override async ValueTask<ScoreCard> ScoreAsync(ScoringRequest request, Settings parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(parameters);
        var candidates = request.Candidates;
        if (candidates.Count == 0)
        {
            throw new FatalTaskException("there are no candidates to combine");
        }

        var services = request.Services ?? throw new FatalTaskException("synthesis needs the host's task services");
        var scores = new Dictionary<string, CandidateScore>();
        CriteriaTable? table = null;
        if (parameters.Criteria is { } criteria)
        {
            table = await WeightedScorer.Measure(request, criteria, cancellationToken).ConfigureAwait(false);
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

        var top = parameters.Top;
        var ranked = candidates.Select((c, i) => (c, i)).OrderByDescending(x => scores[x.c.Name].Total).ThenBy(x => x.i).Select(x => x.c).ToList();
        var chosen = ranked.Take(top).ToList();
        TaskResult synthesis;
        string how;
        if (parameters.Merger is { } merger)
        {
            var merged = await services.MergeAsync(merger, new MergeRequest
            {
                TaskId = request.TaskId,
                Sections = [.. chosen.Select(c => new SectionOutput(c.Name, c.Result))],
            }, cancellationToken).ConfigureAwait(false);
            synthesis = merged.Output;
            how = $"merger '{merger}'{(merged.Conflicts.Count > 0 ? $" ({merged.Conflicts.Count} conflict(s))" : string.Empty)}";
        }
        else
        {
            var name = parameters.Worker!;
            synthesis = await services.InvokeWorkerAsync(name, Prompt(request, parameters, chosen), "combine the best candidates", chosen.ToDictionary(c => c.Name, c => c.Result), cancellationToken).ConfigureAwait(false);
            how = $"worker '{name}'";
        }

        var basis = table is null ? "agreement with the other answers" : "weighted criteria";
        var rationale = string.Create(CultureInfo.InvariantCulture,
            $"Ranked on {basis}: {string.Join(", ", ranked.Select(c => $"{c.Name} {scores[c.Name].Total:0.000}"))}. The top {chosen.Count} ({string.Join(", ", chosen.Select(c => c.Name))}) were combined by {how} into the output.{WeightedScorer.Failed(request)}");
        return new ScoreCard(scores, rationale) { Winner = ranked[0].Name, Synthesis = synthesis, Details = table?.Details() };
    }

    private static JsonElement Prompt(ScoringRequest request, Settings settings, List<Candidate> chosen)
    {
        var instruction = settings.Instruction ?? "Combine the best parts of these answers into one answer.";
        var prompt = new StringBuilder();
        prompt.Append("Task: ").AppendLine(request.Description).AppendLine(instruction).AppendLine();
        for (var n = 0; n < chosen.Count; n++)
        {
            prompt.Append(CultureInfo.InvariantCulture, $"Answer {n + 1}:").AppendLine().AppendLine(chosen[n].Result.ToString()).AppendLine();
        }

        return Parameters.With(settings.WorkerWith, "prompt", prompt.ToString().TrimEnd());
    }
}
