namespace ParallelFlow.Engine.Plans;

/// <summary>Checks a bound plan as a whole: ids, dependencies, cycles and the ranges of every setting
/// (<see cref="PlanRules"/>). Reports every problem found. Its workers and their parameters are checked against a
/// catalog a layer up, by <see cref="Workers.PlanWorkerCheck"/>.</summary>
internal static class PlanValidator
{
    /// <param name="plan">The plan.</param>
    /// <returns>The problems, in file order.</returns>
    public static List<PlanError> Validate(PlanDefinition plan)
    {
        var errors = new List<PlanError>();
        ValidateStructure(plan, errors);
        return InFileOrder(errors);
    }

    /// <summary>Adds the plan's own problems to those found while binding it and hands the plan out, marked as
    /// checked, or throws them all. <paramref name="workersCheckedBy"/> is the catalog its workers were checked
    /// against, if any.</summary>
    /// <exception cref="PlanValidationException">There are errors.</exception>
    public static PlanDefinition Finish(PlanDefinition plan, List<PlanError> errors, object? workersCheckedBy)
    {
        errors.AddRange(Validate(plan));
        if (errors.Any(e => !e.IsWarning))
        {
            throw new PlanValidationException(InFileOrder(errors.Where(e => !e.IsWarning)));
        }

        plan.MarkValidated(workersCheckedBy);
        return plan;
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
        PlanInputs.Check(plan, errors);
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
}
