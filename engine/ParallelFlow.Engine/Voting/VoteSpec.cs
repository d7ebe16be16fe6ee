using System.Text.Json;
using ParallelFlow.Engine.Workers;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Voting;

/// <summary>One candidate of a vote: a worker with its own settings.</summary>
internal sealed record VoteCandidate(string Name, string Worker, JsonElement With, string? Description, double? TimeoutSeconds);

/// <summary>The parameters of a <c>vote</c> task, read and checked from its <c>with</c>.</summary>
internal sealed record VoteSpec(
    IReadOnlyList<VoteCandidate> Candidates,
    string Scorer,
    JsonElement Scoring,
    int Quorum,
    double? CandidateTimeoutSeconds,
    bool EarlyDecision,
    int MaxParallel)
{
    internal static readonly string[] Keys = ["candidates", "scorer", "scoring", "quorum", "candidate_timeout_seconds", "early_decision", "max_parallel"];
    private static readonly string[] CandidateKeys = ["name", "worker", "with", "description", "timeout_seconds"];
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement;

    /// <summary>Reads the parameters, adding every problem found; null when they cannot be used.</summary>
    public static VoteSpec? Parse(JsonElement with, WorkerCatalog catalog, List<ParameterProblem> problems)
    {
        if (with.ValueKind != JsonValueKind.Object)
        {
            problems.Add(new ParameterProblem(null, "a vote needs 'candidates'"));
            return null;
        }

        foreach (var property in with.EnumerateObject())
        {
            if (Array.IndexOf(Keys, property.Name) < 0)
            {
                problems.Add(new ParameterProblem(property.Name, ParameterMessages.Unknown(property.Name, Keys)));
            }
        }

        var candidates = ParseCandidates(with, catalog, problems);
        var scorer = catalog.StageDefaults.VoteScorer;
        if (with.TryGetProperty("scorer", out var scorerValue))
        {
            if (scorerValue.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(scorerValue.GetString()))
            {
                problems.Add(new ParameterProblem("scorer", "'scorer' must be the name of a scorer"));
            }
            else
            {
                scorer = scorerValue.GetString()!;
            }
        }

        var scoringGiven = with.TryGetProperty("scoring", out var given) && given.ValueKind == JsonValueKind.Object ? given : EmptyObject;
        ParameterMessages.CheckPart(
            "scorer", "scorer", scorer, catalog.ScorerNames,
            catalog.TryGetScorer(scorer, out var scorerImplementation) ? () => scorerImplementation.ValidateParameters(scoringGiven) : null,
            "scoring", problems);

        var scoring = EmptyObject;
        if (with.TryGetProperty("scoring", out var scoringValue))
        {
            if (scoringValue.ValueKind != JsonValueKind.Object)
            {
                problems.Add(new ParameterProblem("scoring", "'scoring' must be an object: the scorer's parameters"));
            }
            else
            {
                scoring = scoringValue;
            }
        }

        var quorum = Integer(with, "quorum", 1, problems) ?? 1;
        if (candidates.Count > 0 && quorum > candidates.Count)
        {
            problems.Add(new ParameterProblem("quorum", $"the quorum is {quorum}, but the vote has only {candidates.Count} candidates"));
        }

        var maxParallel = Integer(with, "max_parallel", 1, problems) ?? Math.Max(1, candidates.Count);
        var timeout = PositiveNumber(with, "candidate_timeout_seconds", problems);
        var early = true;
        if (with.TryGetProperty("early_decision", out var earlyValue))
        {
            if (earlyValue.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                problems.Add(new ParameterProblem("early_decision", "'early_decision' must be true or false"));
            }
            else
            {
                early = earlyValue.GetBoolean();
            }
        }

        return new VoteSpec(candidates, scorer, scoring, quorum, timeout, early, maxParallel);
    }

    private static List<VoteCandidate> ParseCandidates(JsonElement with, WorkerCatalog catalog, List<ParameterProblem> problems)
    {
        var candidates = new List<VoteCandidate>();
        if (!with.TryGetProperty("candidates", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            problems.Add(new ParameterProblem("candidates", "'candidates' must be a non-empty list of {name, worker, with}"));
            return candidates;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            var path = $"candidates[{index}]";
            index++;
            if (item.ValueKind != JsonValueKind.Object)
            {
                problems.Add(new ParameterProblem(path, "a candidate must be an object: {name, worker, with}"));
                continue;
            }

            foreach (var property in item.EnumerateObject())
            {
                if (Array.IndexOf(CandidateKeys, property.Name) < 0)
                {
                    problems.Add(new ParameterProblem($"{path}.{property.Name}", ParameterMessages.Unknown(property.Name, CandidateKeys)));
                }
            }

            var name = Text(item, "name");
            var worker = Text(item, "worker");
            if (name is null)
            {
                problems.Add(new ParameterProblem(path, "a candidate needs a 'name'"));
            }
            else if (!names.Add(name))
            {
                problems.Add(new ParameterProblem($"{path}.name", $"two candidates are named '{name}'"));
            }

            var label = name is null ? path : $"candidate '{name}'";
            var parameters = item.TryGetProperty("with", out var w) ? w : EmptyObject;
            if (parameters.ValueKind != JsonValueKind.Object)
            {
                problems.Add(new ParameterProblem($"{path}.with", $"{label}: 'with' must be an object"));
                parameters = EmptyObject;
            }

            if (worker is null)
            {
                problems.Add(new ParameterProblem(path, $"{label} needs a 'worker'"));
            }
            else if (!catalog.TryGetWorker(worker, out var implementation))
            {
                var suggestion = Sdk.Suggestions.Closest(worker, catalog.WorkerNames);
                problems.Add(new ParameterProblem($"{path}.worker", $"{label}: unknown worker '{worker}'.{(suggestion is null ? $" Known workers: {string.Join(", ", catalog.WorkerNames)}" : $" Did you mean '{suggestion}'?")}"));
            }
            else
            {
                IReadOnlyList<ParameterProblem> inner;
                try
                {
                    inner = implementation.ValidateParameters(parameters);
                }
#pragma warning disable CA1031 // A worker's validation bug is reported against the plan.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    inner = [new ParameterProblem(null, $"worker '{worker}' failed to check the parameters: {ex.Message}")];
                }

                foreach (var problem in inner)
                {
                    problems.Add(new ParameterProblem(problem.Key is null ? $"{path}.with" : $"{path}.with.{problem.Key}", $"{label}: {problem.Message}"));
                }
            }

            var description = Text(item, "description");
            var timeout = PositiveNumber(item, "timeout_seconds", problems, path);
            if (name is not null && worker is not null)
            {
                candidates.Add(new VoteCandidate(name, worker, parameters, description, timeout));
            }
        }

        return candidates;
    }

    private static string? Text(JsonElement obj, string key) =>
        obj.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(value.GetString())
            ? value.GetString()
            : null;

    private static int? Integer(JsonElement obj, string key, int min, List<ParameterProblem> problems)
    {
        if (!obj.TryGetProperty(key, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number) || number < min)
        {
            problems.Add(new ParameterProblem(key, $"'{key}' must be a whole number of at least {min}"));
            return null;
        }

        return number;
    }

    private static double? PositiveNumber(JsonElement obj, string key, List<ParameterProblem> problems, string? prefix = null)
    {
        if (!obj.TryGetProperty(key, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || value.GetDouble() <= 0)
        {
            problems.Add(new ParameterProblem(prefix is null ? key : $"{prefix}.{key}", $"'{key}' must be a number of seconds above 0"));
            return null;
        }

        return value.GetDouble();
    }
}
