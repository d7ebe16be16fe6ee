using System.Text.Json;
using ParallelFlow.Engine.Workers;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Sectioning;

/// <summary>The parameters of a <c>section</c> task, read and checked from its <c>with</c>.</summary>
internal sealed record SectionSpec(
    JsonElement? StaticSections,
    Decomposer? Decomposer,
    string Worker,
    JsonElement With,
    int Parallelism,
    int Capacity,
    string Merger,
    JsonElement Merging,
    double? SectionTimeoutSeconds,
    string? ValidateWorker,
    JsonElement ValidateWith,
    bool AllowFailures)
{
    private static readonly string[] Keys = ["sections", "decompose", "worker", "with", "parallelism", "capacity", "merger", "merging", "section_timeout_seconds", "validate", "allow_failures"];

    public static SectionSpec? Parse(JsonElement with, WorkerCatalog catalog, List<ParameterProblem> problems)
    {
        if (with.ValueKind != JsonValueKind.Object)
        {
            problems.Add(new ParameterProblem(null, "a section task needs 'sections' or 'decompose', and a 'worker'"));
            return null;
        }

        foreach (var property in with.EnumerateObject().Where(p => Array.IndexOf(Keys, p.Name) < 0))
        {
            problems.Add(new ParameterProblem(property.Name, ParameterMessages.Unknown(property.Name, Keys)));
        }

        JsonElement? sections = null;
        Decomposer? decomposer = null;
        var hasSections = with.TryGetProperty("sections", out var list);
        var hasDecompose = with.TryGetProperty("decompose", out var decompose);
        if (hasSections == hasDecompose)
        {
            problems.Add(new ParameterProblem(null, "a section task needs exactly one of 'sections' (a list) or 'decompose' (where the sections come from)"));
        }
        else if (hasSections)
        {
            if (list.ValueKind != JsonValueKind.Array)
            {
                problems.Add(new ParameterProblem("sections", "'sections' must be a list: strings, or {\"name\", \"value\"} objects"));
            }
            else
            {
                sections = list.Clone();
            }
        }
        else
        {
            decomposer = Decomposer.Parse(decompose, problems);
        }

        var worker = with.TryGetProperty("worker", out var w) && w.ValueKind == JsonValueKind.String ? w.GetString()! : null;
        var parameters = with.TryGetProperty("with", out var p) && p.ValueKind == JsonValueKind.Object ? p.Clone() : Plans.TaskDefinition.EmptyParameters;
        if (worker is null)
        {
            problems.Add(new ParameterProblem("worker", "a section task needs 'worker', the worker each section runs on"));
        }
        else
        {
            CheckWorker(catalog, worker, parameters, "worker", "with", problems, placeholders: true);
        }

        var parallelism = Integer(with, "parallelism", 1, problems) ?? Environment.ProcessorCount;
        var capacity = Integer(with, "capacity", 1, problems) ?? parallelism * 2;
        if (capacity < parallelism)
        {
            problems.Add(new ParameterProblem("capacity", $"'capacity' ({capacity}) must be at least 'parallelism' ({parallelism}): every running section is in flight"));
        }

        var merger = with.TryGetProperty("merger", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : catalog.StageDefaults.SectionMerger;
        var merging = with.TryGetProperty("merging", out var mg) && mg.ValueKind == JsonValueKind.Object ? mg.Clone() : Plans.TaskDefinition.EmptyParameters;
        ParameterMessages.CheckPart(
            "merger", "merger", merger, catalog.MergerNames,
            catalog.TryGetMerger(merger, out var mergerImplementation) ? () => mergerImplementation.ValidateParameters(merging) : null,
            "merging", problems);

        double? timeout = null;
        if (with.TryGetProperty("section_timeout_seconds", out var t))
        {
            if (t.ValueKind != JsonValueKind.Number || t.GetDouble() <= 0)
            {
                problems.Add(new ParameterProblem("section_timeout_seconds", "'section_timeout_seconds' must be a number of seconds above 0"));
            }
            else
            {
                timeout = t.GetDouble();
            }
        }

        string? validateWorker = null;
        var validateWith = Plans.TaskDefinition.EmptyParameters;
        if (with.TryGetProperty("validate", out var validate))
        {
            if (validate.ValueKind != JsonValueKind.Object || !validate.TryGetProperty("worker", out var vw) || vw.ValueKind != JsonValueKind.String)
            {
                problems.Add(new ParameterProblem("validate", "'validate' must be {\"worker\": ..., \"with\": {...}}: a task run on the merged output"));
            }
            else
            {
                validateWorker = vw.GetString()!;
                validateWith = validate.TryGetProperty("with", out var vp) && vp.ValueKind == JsonValueKind.Object ? vp.Clone() : validateWith;
                CheckWorker(catalog, validateWorker, validateWith, "validate.worker", "validate.with", problems, placeholders: false);
            }
        }

        var allowFailures = with.TryGetProperty("allow_failures", out var a) && a.ValueKind == JsonValueKind.True;
        return worker is null ? null : new SectionSpec(sections, decomposer, worker, parameters, parallelism, capacity, merger, merging, timeout, validateWorker, validateWith, allowFailures);
    }

    private static void CheckWorker(WorkerCatalog catalog, string name, JsonElement parameters, string workerKey, string withKey, List<ParameterProblem> problems, bool placeholders)
    {
        if (!catalog.TryGetWorker(name, out var worker))
        {
            var suggestion = Sdk.Suggestions.Closest(name, catalog.WorkerNames);
            problems.Add(new ParameterProblem(workerKey, $"unknown worker '{name}'.{(suggestion is null ? $" Known workers: {string.Join(", ", catalog.WorkerNames)}" : $" Did you mean '{suggestion}'?")}"));
            return;
        }

        // Placeholders are filled per section; check the parameters with a sample section so their shape is judged.
        var sample = placeholders ? SectionWorker.Fill(parameters, new Section(0, "sample", "sample")) : parameters;
        try
        {
            foreach (var problem in worker.ValidateParameters(sample))
            {
                problems.Add(new ParameterProblem(problem.Key is null ? withKey : $"{withKey}.{problem.Key}", problem.Message));
            }
        }
#pragma warning disable CA1031 // A worker's validation bug is reported against the plan.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            problems.Add(new ParameterProblem(withKey, $"worker '{name}' failed to check the parameters: {ex.Message}"));
        }
    }

    private static int? Integer(JsonElement obj, string key, int min, List<ParameterProblem> problems)
    {
        if (!obj.TryGetProperty(key, out var value))
        {
            return null;
        }

        if (!value.TryGetInt32(out var number) || number < min)
        {
            problems.Add(new ParameterProblem(key, $"'{key}' must be a whole number of at least {min}"));
            return null;
        }

        return number;
    }
}
