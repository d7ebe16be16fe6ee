using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Workers;

/// <summary>Checks a plan against a catalog: every task's worker exists and accepts its parameters, templates name
/// only their dependencies, the strategy is known, and limits name worker types.</summary>
internal static class PlanWorkerCheck
{
    /// <summary>The plan's problems against <paramref name="catalog"/>, in file order.</summary>
    public static List<PlanError> Validate(PlanDefinition plan, WorkerCatalog catalog)
    {
        var errors = new List<PlanError>();
        ValidateWorkers(plan, catalog, plan.SourceMap, errors);
        return PlanValidator.InFileOrder(errors);
    }

    /// <summary>The parameters to check a task's worker with: as written, or with the inputs' defaults put in; null
    /// when the task uses an input that has none (its check waits for a run's values).</summary>
    private static System.Text.Json.JsonElement? WithForCheck(PlanDefinition plan, TaskDefinition task, Sdk.ParallelFlowWorker catalogWorker)
    {
        // The template worker fills {{inputs.NAME}} itself, with the dependencies' outputs, in one pass.
        if (plan.Inputs.Count == 0 || catalogWorker is TemplateWorker || !PlanInputs.Uses(task.With))
        {
            return task.With;
        }

        var defaults = new Dictionary<string, System.Text.Json.JsonElement>(StringComparer.Ordinal);
        foreach (var (_, name) in PlanInputs.References(task.With, string.Empty))
        {
            if (!plan.Inputs.TryGetValue(name, out var input) || input.Default is not { } value)
            {
                return null;
            }

            defaults[name] = value;
        }

        return PlanInputs.Substitute(task.With, defaults);
    }

    /// <summary>Adds the problems a worker finds with a task's parameters, each at its key's position (a worker
    /// that throws is a problem too). <paramref name="label"/> is how messages name the parameters.</summary>
    /// <returns>Whether there were none.</returns>
    public static bool CheckParameters(Sdk.ParallelFlowWorker worker, System.Text.Json.JsonElement with, TaskDefinition task, int index,
        PlanSourceMap map, string label, List<PlanError> errors)
    {
        IReadOnlyList<Sdk.ParameterProblem> problems;
        try
        {
            problems = worker.ValidateParameters(with);
        }
#pragma warning disable CA1031 // A worker's validation bug is reported against the plan, not thrown at the host.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            problems = [new Sdk.ParameterProblem(null, $"worker '{DisplayText.Shorten(task.Worker)}' failed to check the parameters: {ex.Message}")];
        }

        foreach (var problem in problems)
        {
            var path = problem.Key is null ? $"tasks[{index}].with" : $"tasks[{index}].with.{problem.Key}";
            errors.Add(map.Error(PlanError.WorkerParameterCode, path, $"task '{DisplayText.Shorten(task.Id)}': {label}: {problem.Message}", task.Id));
        }

        return problems.Count == 0;
    }

    private static void ValidateWorkers(PlanDefinition plan, WorkerCatalog catalog, PlanSourceMap map, List<PlanError> errors)
    {
        var known = catalog.WorkerNames;
        for (var i = 0; i < plan.Tasks.Count; i++)
        {
            var task = plan.Tasks[i];
            if (task.InlineWorker is not null || task.Worker.Length == 0)
            {
                continue;
            }

            if (!catalog.TryGetWorker(task.Worker, out var worker))
            {
                var suggestion = Sdk.Suggestions.Closest(task.Worker, known);
                errors.Add(map.Error(PlanError.UnknownWorkerCode, $"tasks[{i}].worker",
                    $"task '{DisplayText.Shorten(task.Id)}': unknown worker '{DisplayText.Shorten(task.Worker)}'{(suggestion is null ? "." : $". Did you mean '{suggestion}'?")} Known workers: {string.Join(", ", known)}", task.Id));
                continue;
            }

            if (worker is TemplateWorker)
            {
                foreach (var placeholder in TemplateWorker.Placeholders(task.With).Where(p => !task.DependsOn.Contains(p)))
                {
                    errors.Add(map.Error(PlanError.WorkerParameterCode, $"tasks[{i}].with.text",
                        $"task '{DisplayText.Shorten(task.Id)}': the text uses {{{{{placeholder}}}}}, but '{DisplayText.Shorten(placeholder)}' is not in its depends_on", task.Id));
                }
            }

            if (WithForCheck(plan, task, worker) is not { } with)
            {
                // Uses an input with no default: checked when a run supplies it (CompiledPlan.Start).
                continue;
            }

            CheckParameters(worker, with, task, i, map, "with", errors);
        }

        if (catalog.StrategyProblem(plan.Strategy) is { } strategyProblem)
        {
            errors.Add(map.Error(PlanError.UnknownStrategyCode, "strategy", strategyProblem));
        }

        var used = plan.Tasks.Select(t => t.Worker).ToHashSet(StringComparer.Ordinal);
        foreach (var name in plan.Limits.Keys.Where(n => !catalog.TryGetWorker(n, out _) && !used.Contains(n)))
        {
            var suggestion = Sdk.Suggestions.Closest(name, known);
            errors.Add(map.Error(PlanError.UnknownWorkerCode, $"limits.{name}",
                $"limits names '{DisplayText.Shorten(name)}', which is not a worker type{(suggestion is null ? "" : $". Did you mean '{suggestion}'?")}"));
        }
    }
}
