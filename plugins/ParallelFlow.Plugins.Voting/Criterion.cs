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

    /// <summary>Reads <c>criteria</c> from a scorer's parameters; problems are reported by key path (<c>criteria[1].weight</c>).</summary>
    public static IReadOnlyList<Criterion> ReadAll(ParameterReader reader, bool required)
    {
        if (required && !reader.Has("criteria"))
        {
            reader.Problem("criteria", "'criteria' is required: a list of {name, weight, metric | command | judge}");
        }

        var items = reader.Children("criteria");
        if (items is null)
        {
            return [];
        }

        if (items.Count == 0 && reader.Problems.All(p => p.Key?.StartsWith("criteria[", StringComparison.Ordinal) != true))
        {
            reader.Problem("criteria", "'criteria' must be a non-empty list of {name, weight, metric | command | judge}");
        }

        var criteria = new List<Criterion>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            if (Read(item) is { } criterion)
            {
                if (!names.Add(criterion.Name))
                {
                    item.Problem("name", $"two criteria are named '{criterion.Name}'");
                }

                criteria.Add(criterion);
            }
        }

        return criteria;
    }

    private static Criterion? Read(ParameterReader item)
    {
        var name = item.Text("name", required: true);
        if (name is not null && string.IsNullOrWhiteSpace(name))
        {
            item.Problem("name", "a criterion's 'name' must not be blank");
            name = null;
        }
        var weight = item.Number("weight", min: 0) ?? 1.0;
        var metric = item.Text("metric");
        if (metric is not null && (!(Array.IndexOf(Metrics, metric) >= 0 || (metric.StartsWith("json:", StringComparison.Ordinal) && metric.Length > 5)) || metric == "json:<path>"))
        {
            item.Problem("metric", $"criterion '{name}': unknown metric '{metric}'. Known metrics: {string.Join(", ", Metrics)}");
            metric = null;
        }

        var command = item.Child("command") is { } c ? CommandMetric.Read(c) : null;
        var judge = item.Child("judge") is { } j ? JudgeMetric.Read(j) : null;
        var goalName = item.OneOf("goal", "max", "min");
        if ((item.Has("metric") ? 1 : 0) + (item.Has("command") ? 1 : 0) + (item.Has("judge") ? 1 : 0) != 1)
        {
            item.Problem(null, $"criterion '{name}' needs exactly one of 'metric', 'command' or 'judge'");
        }

        if (name is null)
        {
            return null;
        }

        var goal = goalName switch
        {
            "max" => Goal.Max,
            "min" => Goal.Min,
            _ => metric is "duration" or "tokens" or "input_tokens" or "output_tokens" or "cost" or "length" ? Goal.Min : Goal.Max,
        };
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
