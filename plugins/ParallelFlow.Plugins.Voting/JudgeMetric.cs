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
    private static readonly string[] Keys = ["worker", "with", "rubric", "scale", "seed", "distinct"];

    public static JudgeMetric? Parse(JsonElement value, string path, string criterion, List<ParameterProblem> problems)
    {
        if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("rubric", out var rubric) || rubric.ValueKind != JsonValueKind.String)
        {
            problems.Add(new ParameterProblem(path, $"criterion '{criterion}': 'judge' must be an object with a 'rubric' and optional 'worker', 'with', 'scale', 'seed', 'distinct'"));
            return null;
        }

        foreach (var property in value.EnumerateObject().Where(p => Array.IndexOf(Keys, p.Name) < 0))
        {
            problems.Add(new ParameterProblem($"{path}.{property.Name}", $"criterion '{criterion}': unknown key '{property.Name}'. Known keys: {string.Join(", ", Keys)}"));
        }

        var worker = value.TryGetProperty("worker", out var w) && w.ValueKind == JsonValueKind.String ? w.GetString()! : "llm";
        var with = value.TryGetProperty("with", out var p) && p.ValueKind == JsonValueKind.Object ? p.Clone() : JsonDocument.Parse("{}").RootElement;
        var scale = value.TryGetProperty("scale", out var s) && s.ValueKind == JsonValueKind.Number && s.GetDouble() > 0 ? s.GetDouble() : 10;
        var seed = value.TryGetProperty("seed", out var r) && r.TryGetInt32(out var seedValue) ? seedValue : 1;
        var distinct = !value.TryGetProperty("distinct", out var d) || d.ValueKind != JsonValueKind.False;
        return new JudgeMetric(worker, with, rubric.GetString()!, scale, seed, distinct);
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
