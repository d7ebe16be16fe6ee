using System.Globalization;

namespace ParallelFlow.Engine.Plans;

/// <summary>
/// The range and value rules of a plan, checked on the immutable model, so that a plan is held to the same rules
/// however it was made: a JSON or YAML file, a request, config.json, <see cref="PlanBuilder"/>, or a
/// <see cref="PlanDefinition"/> a host filled in itself. Positions come from the plan's source map when it came from a
/// file. The binders check only what the model cannot hold (types, whole numbers, unknown keys).
/// </summary>
internal static partial class PlanRules
{
    /// <summary>The most attempts a task may make.</summary>
    public const int MaxAttempts = 100;

    /// <summary>The longest wait between attempts, and the longest first one: a day.</summary>
    public const double MaxRetryDelaySeconds = 86_400;

    /// <summary>The largest backoff multiplier.</summary>
    public const double MaxBackoffMultiplier = 100;

    /// <summary>The shortest time limit of an attempt: 10 ms, the timer's resolution.</summary>
    public const double MinTimeoutSeconds = 0.01;

    /// <summary>The longest time limit of an attempt: a day.</summary>
    public const double MaxTimeoutSeconds = 86_400;

    /// <summary>The longest wall-time budget of a run: 30 days.</summary>
    public const double MaxWallSeconds = 30 * 86_400;

    /// <summary>Checks the plan's settings and each task's.</summary>
    /// <summary>The longest task id: ids appear in every event, report line and journal row.</summary>
    internal const int MaxTaskIdLength = 200;

    /// <summary>A task id: not empty, at most <see cref="MaxTaskIdLength"/> characters, letters, digits and a few marks.</summary>
    private static void CheckId(string id, string path, PlanSourceMap map, List<PlanError> errors)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            errors.Add(map.Error(PlanError.MissingCode, path, $"task {path} has no 'id'"));
        }
        else if (id.Length > MaxTaskIdLength)
        {
            errors.Add(map.ValueError(PlanError.OutOfRangeCode, $"{path}.id",
                $"task id '{DisplayText.Shorten(id)}' is {id.Length:N0} characters long; at most {MaxTaskIdLength} are allowed", DisplayText.Shorten(id)));
        }
        else if (!TaskIdPattern().IsMatch(id))
        {
            errors.Add(map.ValueError(PlanError.InvalidValueCode, $"{path}.id",
                $"task id '{DisplayText.Shorten(id)}' may hold only letters, digits and '-', '_', '.', ':', and must start with a letter or digit", id));
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")]
    private static partial System.Text.RegularExpressions.Regex TaskIdPattern();

    public static void Check(PlanDefinition plan, List<PlanError> errors)
    {
        var map = plan.SourceMap;
        CheckParallelism(plan.Parallelism, map, errors);
        CheckTimeouts(plan.Timeouts, map, errors);
        CheckResources(plan.Resources, map, errors);
        CheckRetry(plan.Retry, "retry", null, map, errors);
        foreach (var (worker, limit) in plan.Limits)
        {
            AtLeast(limit, 1, $"limits.{worker}", null, map, errors);
        }

        if (plan.Budget is { } budget)
        {
            CheckBudget(budget, map, errors);
        }

        for (var i = 0; i < plan.Tasks.Count; i++)
        {
            var task = plan.Tasks[i];
            var path = $"tasks[{i}]";
            CheckId(task.Id, path, map, errors);
            if (task.TimeoutSeconds is { } timeout)
            {
                if (Between(timeout, MinTimeoutSeconds, MaxTimeoutSeconds, $"{path}.timeout_seconds", task.Id, map, errors) && plan.Timeouts.MaxTaskSeconds is { } max && timeout > max)
                {
                    errors.Add(map.Error(PlanError.OutOfRangeCode, $"{path}.timeout_seconds",
                        $"task '{DisplayText.Shorten(task.Id)}': timeout_seconds ({Show(timeout)}) exceeds timeouts.max_task ({Show(max)})", task.Id));
                }
            }

            if (task.Retry is { } retry)
            {
                CheckRetry(retry, $"{path}.retry", task.Id, map, errors);
            }

            if (task.EstimateSeconds is { } estimate)
            {
                AtLeast(estimate, 0, $"{path}.estimate_seconds", task.Id, map, errors);
            }

            if (task.EstimateTokens is { } tokens)
            {
                AtLeast(tokens, 0, $"{path}.estimate_tokens", task.Id, map, errors);
            }

            if (task.EstimateCost is { } cost)
            {
                AtLeast((double)cost, 0, $"{path}.estimate_cost", task.Id, map, errors);
            }

            if (!Enum.IsDefined(task.Priority))
            {
                errors.Add(map.Error(PlanError.InvalidValueCode, $"{path}.priority",
                    $"task '{DisplayText.Shorten(task.Id)}': priority {(int)task.Priority} is not one of critical, high, normal, low", task.Id));
            }
        }
    }

    /// <summary>Checks the sections of a config.json, against its own file.</summary>
    public static void Check(ExecutorConfig config, PlanSourceMap map, List<PlanError> errors)
    {
        if (config.Parallelism is { } parallelism)
        {
            CheckParallelism(parallelism, map, errors);
        }

        if (config.Timeouts is { } timeouts)
        {
            CheckTimeouts(timeouts, map, errors);
        }

        if (config.Resources is { } resources)
        {
            CheckResources(resources, map, errors);
        }

        if (config.Retry is { } retry)
        {
            CheckRetry(retry, "retry", null, map, errors);
        }
    }

    private static void CheckParallelism(ParallelismSettings settings, PlanSourceMap map, List<PlanError> errors)
    {
        var valid = (settings.MinWorkers is not { } min || AtLeast(min, 1, "parallelism.min_workers", null, map, errors))
            & (settings.MaxWorkers is not { } max || AtLeast(max, 1, "parallelism.max_workers", null, map, errors))
            & (settings.DefaultWorkers is not { } workers || AtLeast(workers, 1, "parallelism.default_workers", null, map, errors));
        if (!valid)
        {
            return;
        }

        if (settings is { MinWorkers: { } least, MaxWorkers: { } most } && least > most)
        {
            errors.Add(map.Error(PlanError.OutOfRangeCode, "parallelism.min_workers", $"parallelism.min_workers ({least}) is greater than max_workers ({most})"));
        }
        else if (settings.DefaultWorkers is { } chosen && (chosen < (settings.MinWorkers ?? 1) || chosen > (settings.MaxWorkers ?? int.MaxValue)))
        {
            errors.Add(map.Error(PlanError.OutOfRangeCode, "parallelism.default_workers",
                $"parallelism.default_workers ({chosen}) is outside min_workers..max_workers ({settings.MinWorkers ?? 1}..{settings.MaxWorkers?.ToString(CultureInfo.InvariantCulture) ?? "unbounded"})"));
        }
    }

    private static void CheckResources(ResourceSettings settings, PlanSourceMap map, List<PlanError> errors)
    {
        if (settings.MaxMemoryMb is { } memory)
        {
            // 1 MB: no process starts in less; a million MB (about a terabyte) is past any machine here.
            _ = Between(memory, 1, 1_000_000, "resources.max_memory_mb", null, map, errors);
        }

        if (settings.CpuThreshold is { } threshold)
        {
            _ = Between(threshold, 0.01, 1, "resources.cpu_threshold", null, map, errors);
        }
    }

    private static void CheckTimeouts(TimeoutSettings settings, PlanSourceMap map, List<PlanError> errors)
    {
        var valid = (settings.DefaultTaskSeconds is not { } defaultTask || Between(defaultTask, MinTimeoutSeconds, MaxTimeoutSeconds, "timeouts.default_task", null, map, errors))
            // max_task only bounds timeout_seconds; it reaches no timer itself.
            & (settings.MaxTaskSeconds is not { } maxTask || AtLeast(maxTask, MinTimeoutSeconds, "timeouts.max_task", null, map, errors));
        if (settings.WorkerHeartbeatSeconds is { } heartbeat)
        {
            _ = Between(heartbeat, MinTimeoutSeconds, MaxTimeoutSeconds, "timeouts.worker_heartbeat", null, map, errors);
        }

        if (valid && settings is { DefaultTaskSeconds: { } first, MaxTaskSeconds: { } cap } && first > cap)
        {
            errors.Add(map.Error(PlanError.OutOfRangeCode, "timeouts.default_task", $"timeouts.default_task ({Show(first)}s) is greater than max_task ({Show(cap)}s)"));
        }
    }

    private static void CheckRetry(RetrySettings retry, string path, string? taskId, PlanSourceMap map, List<PlanError> errors)
    {
        _ = Between(retry.MaxAttempts, 1, MaxAttempts, $"{path}.max_attempts", taskId, map, errors);
        _ = Between(retry.BackoffMultiplier, 1, MaxBackoffMultiplier, $"{path}.backoff_multiplier", taskId, map, errors);
        _ = Between(retry.InitialDelaySeconds, 0, MaxRetryDelaySeconds, $"{path}.initial_delay", taskId, map, errors);
        if (retry.MaxDelaySeconds is { } maxDelay)
        {
            _ = Between(maxDelay, 0, MaxRetryDelaySeconds, $"{path}.max_delay", taskId, map, errors);
        }
    }

    private static void CheckBudget(BudgetSettings budget, PlanSourceMap map, List<PlanError> errors)
    {
        if (budget.Tokens is null && budget.Cost is null && budget.WallSeconds is null)
        {
            errors.Add(map.Error(PlanError.MissingCode, "budget", "a budget needs 'tokens', 'cost' or 'wall_seconds'"));
        }

        if (budget.Tokens is { } tokens)
        {
            AtLeast(tokens, 1, "budget.tokens", null, map, errors);
        }

        if (budget.Cost is { } cost)
        {
            GreaterThan((double)cost, 0, "budget.cost", null, map, errors);
        }

        if (budget.WallSeconds is { } wall)
        {
            if (GreaterThan(wall, 0, "budget.wall_seconds", null, map, errors))
            {
                _ = Between(wall, 0, MaxWallSeconds, "budget.wall_seconds", null, map, errors);
            }
        }

        if (!(budget.TaskCap > 0 && budget.TaskCap <= 1))
        {
            errors.Add(OutOfRange(map, "budget.task_cap", null, "between 0 and 1", budget.TaskCap));
        }

        if (!Enum.IsDefined(budget.Policy))
        {
            errors.Add(map.Error(PlanError.InvalidValueCode, "budget.policy", $"budget.policy {(int)budget.Policy} is not one of pool, equal, proportional"));
        }
    }

    private static bool AtLeast(double value, double min, string path, string? taskId, PlanSourceMap map, List<PlanError> errors)
    {
        if (value >= min && double.IsFinite(value))
        {
            return true;
        }

        errors.Add(OutOfRange(map, path, taskId, $"at least {Show(min)}", value));
        return false;
    }

    private static bool GreaterThan(double value, double min, string path, string? taskId, PlanSourceMap map, List<PlanError> errors)
    {
        if (value > min && double.IsFinite(value))
        {
            return true;
        }

        errors.Add(OutOfRange(map, path, taskId, $"greater than {Show(min)}", value));
        return false;
    }

    private static bool Between(double value, double min, double max, string path, string? taskId, PlanSourceMap map, List<PlanError> errors)
    {
        if (value >= min && value <= max)
        {
            return true;
        }

        errors.Add(OutOfRange(map, path, taskId, $"between {Show(min)} and {Show(max)}", value));
        return false;
    }

    /// <summary>The error for a value out of its range, worded as the binders word every value error: the setting
    /// (after the task, for a task's), what it must be, and what it was.</summary>
    private static PlanError OutOfRange(PlanSourceMap map, string path, string? taskId, string range, double value)
    {
        var setting = taskId is null ? path : $"task '{DisplayText.Shorten(taskId)}': {path[(path.IndexOf('.', StringComparison.Ordinal) + 1)..]}";
        return map.ValueError(PlanError.OutOfRangeCode, path, $"{setting} must be {range}; got {Show(value)}", taskId);
    }

    private static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);
}
