using ParallelFlow.Engine.Workers;

namespace ParallelFlow.Engine.Plans;

/// <summary>Checks a bound plan as a whole: ids, dependencies, cycles, the ranges of every setting (<see cref="PlanRules"/>),
/// and, given a catalog, its workers and their parameters. Reports every problem found.</summary>
internal static class PlanValidator
{
    /// <param name="plan">The plan.</param>
    /// <param name="catalog">When given, workers and their parameters are checked against it.</param>
    /// <param name="structure">Whether to check ids, dependencies, cycles and time limits; off for a plan whose
    /// structure was already checked.</param>
    public static List<PlanError> Validate(PlanDefinition plan, WorkerCatalog? catalog, bool structure = true)
    {
        var errors = new List<PlanError>();
        if (structure)
        {
            ValidateStructure(plan, errors);
        }

        if (catalog is not null)
        {
            ValidateWorkers(plan, catalog, plan.SourceMap, errors);
        }

        return InFileOrder(errors);
    }

    private static void ValidateStructure(PlanDefinition plan, List<PlanError> errors)
    {
        var map = plan.SourceMap;
        var firstIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < plan.Tasks.Count; i++)
        {
            var task = plan.Tasks[i];
            if (!firstIndex.TryAdd(task.Id, i))
            {
                var first = map.Find($"tasks[{firstIndex[task.Id]}]");
                var where = first is { } p ? $" (first defined at line {p.Line})" : string.Empty;
                errors.Add(map.Error(PlanError.DuplicateIdCode, $"tasks[{i}].id", $"duplicate task id '{DisplayText.Shorten(task.Id)}'{where}", task.Id));
            }
        }

        var ids = firstIndex.Keys.ToList();
        for (var i = 0; i < plan.Tasks.Count; i++)
        {
            var task = plan.Tasks[i];
            CheckReferences(task, i, "depends_on", task.DependsOn, firstIndex, ids, map, errors);
            CheckReferences(task, i, "after", task.After, firstIndex, ids, map, errors);
            if (task.InlineWorker is null && string.IsNullOrWhiteSpace(task.Worker))
            {
                errors.Add(map.Error(PlanError.UnknownWorkerCode, $"tasks[{i}].worker",
                    $"task '{DisplayText.Shorten(task.Id)}': the worker name is empty; name a worker type (parallelflow plugins lists them)", task.Id));
            }
        }

        PlanRules.Check(plan, errors);
        var graph = plan.Graph;
        foreach (var cycle in graph.FindCycles())
        {
            // The walk follows execution order; show it as "waits for", the way depends_on reads.
            var waitsFor = cycle.Take(1).Concat(cycle.Skip(1).Reverse()).Select(t => plan.Tasks[t].Id).ToList();
            var path = string.Join(" → ", waitsFor.Append(waitsFor[0]));
            errors.Add(map.Error(PlanError.CycleCode, $"tasks[{cycle[0]}]",
                $"dependency cycle: {path}, each waiting for the next ({waitsFor.Count} task{(waitsFor.Count == 1 ? "" : "s")} on the cycle: {string.Join(", ", waitsFor)})", waitsFor[0]));
        }
    }

    /// <summary>Sorts errors by file, then line and column; errors without a position go last, in the order found.</summary>
    public static List<PlanError> InFileOrder(IEnumerable<PlanError> errors) =>
        [.. errors.OrderBy(e => e.Source, StringComparer.Ordinal)
            .ThenBy(e => e.Position?.Line ?? int.MaxValue)
            .ThenBy(e => e.Position?.Column ?? int.MaxValue)];

    private static void CheckReferences(TaskDefinition task, int index, string key, IReadOnlyList<string> references,
        Dictionary<string, int> ids, List<string> allIds, PlanSourceMap map, List<PlanError> errors)
    {
        for (var j = 0; j < references.Count; j++)
        {
            var reference = references[j];
            if (ids.ContainsKey(reference))
            {
                continue;
            }

            var suggestion = Sdk.Suggestions.Closest(reference, allIds);
            errors.Add(map.Error(PlanError.UnknownDependencyCode, $"tasks[{index}].{key}[{j}]",
                $"task '{DisplayText.Shorten(task.Id)}': {key} names '{DisplayText.Shorten(reference)}', which is not a task in this plan{(suggestion is null ? "" : $". Did you mean '{suggestion}'?")}", task.Id));
        }
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
                    $"task '{DisplayText.Shorten(task.Id)}': unknown worker '{DisplayText.Shorten(task.Worker)}'{(suggestion is null ? "" : $". Did you mean '{suggestion}'?")} Known workers: {string.Join(", ", known)}", task.Id));
                continue;
            }

            IReadOnlyList<Sdk.ParameterProblem> problems;
            try
            {
                problems = worker.ValidateParameters(task.With);
            }
#pragma warning disable CA1031 // A worker's validation bug is reported against the plan, not thrown at the host.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                problems = [new Sdk.ParameterProblem(null, $"worker '{DisplayText.Shorten(task.Worker)}' failed to check the parameters: {ex.Message}")];
            }

            foreach (var problem in problems)
            {
                var path = problem.Key is null ? $"tasks[{i}].with" : $"tasks[{i}].with.{problem.Key}";
                errors.Add(map.Error(PlanError.WorkerParameterCode, path, $"task '{DisplayText.Shorten(task.Id)}': with: {problem.Message}", task.Id));
            }

            if (worker is TemplateWorker)
            {
                foreach (var placeholder in TemplateWorker.Placeholders(task.With).Where(p => !task.DependsOn.Contains(p)))
                {
                    errors.Add(map.Error(PlanError.WorkerParameterCode, $"tasks[{i}].with.text",
                        $"task '{DisplayText.Shorten(task.Id)}': the text uses {{{{{placeholder}}}}}, but '{DisplayText.Shorten(placeholder)}' is not in its depends_on", task.Id));
                }
            }
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
