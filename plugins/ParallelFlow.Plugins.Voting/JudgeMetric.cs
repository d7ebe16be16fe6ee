using System.Globalization;
using System.Text;
using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Voting;

/// <summary>
/// A criterion scored by an LLM judge: any worker (normally <c>llm</c>) asked, once per candidate, to rate one
/// answer on a rubric. Bias controls: every judgement lists all answers in a fresh random order under neutral
/// labels (no candidate names, workers or models), and the judge's model must differ from every candidate's unless
/// <c>distinct: false</c>.
/// </summary>
internal sealed record JudgeMetric(string Worker, JsonElement With, string Rubric, double Scale, int Seed, bool Distinct)
{

    public static JudgeMetric? Read(ParameterReader judge)
    {
        var rubric = judge.Text("rubric", required: true);
        var worker = judge.Text("worker") ?? "llm";
        var with = judge.Nested("with")?.Clone() ?? JsonDocument.Parse("{}").RootElement;
        var scale = judge.Number("scale", min: 1e-9) ?? 10;
        var seed = judge.WholeNumber("seed") ?? 1;
        var distinct = judge.Boolean("distinct") ?? true;
        return rubric is null ? null : new JudgeMetric(worker, with, rubric, scale, seed, distinct);
    }

    public async Task<double?[]> ScoreAsync(ScoringRequest request, string criterion, List<string> notes, CancellationToken cancellationToken)
    {
        var services = request.Services ?? throw new FatalTaskException($"criterion '{criterion}': an LLM judge needs the host's task services");
        var candidates = request.Candidates;
        if (Distinct && Model(With) is { } judgeModel)
        {
            foreach (var candidate in candidates.Where(c => Model(c.Parameters) == judgeModel))
            {
                throw new FatalTaskException($"criterion '{criterion}': the judge's model '{judgeModel}' is also candidate '{candidate.Name}''s model; choose a distinct judge model, or set \"distinct\": false");
            }
        }

        var random = new Random(Seed);
        var values = new double?[candidates.Count];
        for (var i = 0; i < candidates.Count; i++)
        {
            var order = Enumerable.Range(0, candidates.Count).ToArray();
            random.Shuffle(order);
            var label = Array.IndexOf(order, i) + 1;
            var prompt = Prompt(request.Description, candidates, order, label);
            var reply = await services.InvokeWorkerAsync(Worker, Parameters.With(With, "prompt", prompt), $"judge {criterion}", null, cancellationToken).ConfigureAwait(false);
            var text = reply.ToString();
            var match = CommandMetric.NumberPattern().Match(text);
            if (match.Success && double.TryParse(match.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var score))
            {
                values[i] = Math.Clamp(score, 0, Scale) / Scale;
            }
            else
            {
                notes.Add($"{criterion}: the judge gave no score for {candidates[i].Name}");
            }
        }

        return values;
    }

    internal string Prompt(string task, IReadOnlyList<Candidate> candidates, int[] order, int label)
    {
        var prompt = new StringBuilder();
        prompt.Append("Task: ").AppendLine(task);
        prompt.Append("Rubric: ").AppendLine(Rubric);
        prompt.AppendLine();
        for (var position = 0; position < order.Length; position++)
        {
            prompt.Append(CultureInfo.InvariantCulture, $"Response {position + 1}:").AppendLine();
            prompt.AppendLine(candidates[order[position]].Result.ToString());
            prompt.AppendLine();
        }

        prompt.Append(CultureInfo.InvariantCulture, $"Rate Response {label} against the rubric from 0 to {Criterion.Format(Scale)}. Reply with the number first.");
        return prompt.ToString();
    }

    private static string? Model(JsonElement parameters) =>
        parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String
            ? model.GetString()
            : null;
}
