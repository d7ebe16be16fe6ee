using System.Globalization;
using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Voting;

/// <summary>Whether a higher or a lower measurement is better.</summary>
internal enum Goal
{
    Max,
    Min,
}

/// <summary>
/// One criterion of a weighted or Pareto vote: a name, a weight, a goal and how it is measured: a number from the
/// candidate's result (<c>metric</c>), a command run on the candidate's output (<c>command</c>), or an LLM judge
/// with a rubric (<c>judge</c>).
/// </summary>
internal sealed record Criterion(string Name, double Weight, Goal Goal, string? Metric, CommandMetric? Command, JudgeMetric? Judge)
{
    public static readonly string[] Metrics = ["duration", "tokens", "input_tokens", "output_tokens", "cost", "length", "agreement", "json:<path>"];
    private static readonly string[] Keys = ["name", "weight", "goal", "metric", "command", "judge"];

    /// <summary>Reads <c>criteria</c> from a scorer's parameters, reporting problems by key path.</summary>
    public static IReadOnlyList<Criterion> ParseAll(JsonElement with, List<ParameterProblem> problems, bool required)
    {
        var criteria = new List<Criterion>();
        if (with.ValueKind != JsonValueKind.Object || !with.TryGetProperty("criteria", out var list))
        {
            if (required)
            {
                problems.Add(new ParameterProblem("criteria", "'criteria' is required: a list of {name, weight, metric | command | judge}"));
            }

            return criteria;
        }

        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            problems.Add(new ParameterProblem("criteria", "'criteria' must be a non-empty list"));
            return criteria;
        }

        var index = 0;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in list.EnumerateArray())
        {
            var path = $"criteria[{index++}]";
            if (Parse(item, path, problems) is { } criterion)
            {
                if (!names.Add(criterion.Name))
                {
                    problems.Add(new ParameterProblem($"{path}.name", $"two criteria are named '{criterion.Name}'"));
                }

                criteria.Add(criterion);
            }
        }

        return criteria;
    }

    private static Criterion? Parse(JsonElement item, string path, List<ParameterProblem> problems)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            problems.Add(new ParameterProblem(path, "a criterion must be an object: {name, weight, metric | command | judge}"));
            return null;
        }

        foreach (var property in item.EnumerateObject().Where(p => Array.IndexOf(Keys, p.Name) < 0))
        {
            problems.Add(new ParameterProblem($"{path}.{property.Name}", $"unknown key '{property.Name}'. Known keys: {string.Join(", ", Keys)}"));
        }

        var name = item.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        if (string.IsNullOrWhiteSpace(name))
        {
            problems.Add(new ParameterProblem(path, "a criterion needs a 'name'"));
            return null;
        }

        var weight = 1.0;
        if (item.TryGetProperty("weight", out var w))
        {
            if (w.ValueKind != JsonValueKind.Number || w.GetDouble() < 0)
            {
                problems.Add(new ParameterProblem($"{path}.weight", $"criterion '{name}': 'weight' must be a number of at least 0"));
            }
            else
            {
                weight = w.GetDouble();
            }
        }

        string? metric = null;
        if (item.TryGetProperty("metric", out var m))
        {
            metric = m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            if (metric is null || !(Array.IndexOf(Metrics, metric) >= 0 || (metric.StartsWith("json:", StringComparison.Ordinal) && metric.Length > 5)) || metric == "json:<path>")
            {
                problems.Add(new ParameterProblem($"{path}.metric", $"criterion '{name}': unknown metric '{m}'. Known metrics: {string.Join(", ", Metrics)}"));
                metric = null;
            }
        }

        var command = item.TryGetProperty("command", out var c) ? CommandMetric.Parse(c, $"{path}.command", name, problems) : null;
        var judge = item.TryGetProperty("judge", out var j) ? JudgeMetric.Parse(j, $"{path}.judge", name, problems) : null;
        var ways = (item.TryGetProperty("metric", out _) ? 1 : 0) + (item.TryGetProperty("command", out _) ? 1 : 0) + (item.TryGetProperty("judge", out _) ? 1 : 0);
        if (ways != 1)
        {
            problems.Add(new ParameterProblem(path, $"criterion '{name}' needs exactly one of 'metric', 'command' or 'judge'"));
        }

        var goal = metric is "duration" or "tokens" or "input_tokens" or "output_tokens" or "cost" or "length" ? Goal.Min : Goal.Max;
        if (item.TryGetProperty("goal", out var g))
        {
            switch (g.ValueKind == JsonValueKind.String ? g.GetString() : null)
            {
                case "max":
                    goal = Goal.Max;
                    break;
                case "min":
                    goal = Goal.Min;
                    break;
                default:
                    problems.Add(new ParameterProblem($"{path}.goal", $"criterion '{name}': 'goal' must be \"max\" or \"min\""));
                    break;
            }
        }

        return new Criterion(name, weight, goal, metric, command, judge);
    }

    /// <summary>Measures every candidate; a candidate that cannot be measured gets null and a note.</summary>
    public async Task<double?[]> MeasureAsync(ScoringRequest request, List<string> notes, CancellationToken cancellationToken)
    {
        var candidates = request.Candidates;
        if (Judge is { } judge)
        {
            return await judge.ScoreAsync(request, Name, notes, cancellationToken).ConfigureAwait(false);
        }

        var values = new double?[candidates.Count];
        for (var i = 0; i < candidates.Count; i++)
        {
            var candidate = candidates[i];
            if (Command is { } command)
            {
                values[i] = await command.MeasureAsync(candidate, notes, Name, cancellationToken).ConfigureAwait(false);
                continue;
            }

            values[i] = Metric switch
            {
                "duration" => candidate.Duration.TotalSeconds,
                "tokens" => candidate.Result.Usage.TotalTokens,
                "input_tokens" => candidate.Result.Usage.InputTokens,
                "output_tokens" => candidate.Result.Usage.OutputTokens,
                "cost" => (double)candidate.Result.Usage.Cost,
                "length" => candidate.Result.ToString().Length,
                "agreement" => candidates.Count == 1 ? 1 : candidates.Where((_, j) => j != i).Average(other => TextSimilarity.Cosine(candidate.Result.ToString(), other.Result.ToString())),
                _ => FromJson(candidate, Metric![5..], notes),
            };
        }

        return values;
    }

    private double? FromJson(Candidate candidate, string path, List<string> notes)
    {
        var node = candidate.Result.Json;
        if (node is null && candidate.Result.Text is { } text)
        {
            try
            {
                using var document = JsonDocument.Parse(text);
                node = document.RootElement.Clone();
            }
            catch (JsonException)
            {
                node = null;
            }
        }

        foreach (var part in path.Split('.'))
        {
            node = node is { ValueKind: JsonValueKind.Object } obj && obj.TryGetProperty(part, out var next) ? next : null;
        }

        if (node is { ValueKind: JsonValueKind.Number } number)
        {
            return number.GetDouble();
        }

        notes.Add($"{Name}: {candidate.Name}'s result has no number at '{path}'");
        return null;
    }

    public static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
