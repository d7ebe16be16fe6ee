using System.Text.RegularExpressions;

namespace ParallelFlow.Engine.Plans;

/// <summary>Turns the nodes of a plan or config file into the model, collecting every problem with its position
/// instead of stopping at the first. Requests (<c>mode</c>) and workflow traces have binders of their own.</summary>
internal sealed partial class PlanBinder : NodeBinder
{
    private static readonly string[] PlanKeys = ["$schema", "id", "description", "inputs", "parallelism", "limits", "timeouts", "retry", "resources", "context", "on_failure", "budget", "strategy", "tasks"];
    private static readonly string[] InputKeys = ["type", "required", "default", "description"];
    private static readonly string[] BudgetKeys = ["tokens", "cost", "wall_seconds", "policy", "task_cap"];
    private static readonly string[] BudgetPolicies = ["equal", "proportional", "pool"];
    private static readonly string[] ConfigKeys = ["$schema", "parallelism", "timeouts", "retry", "resources"];
    private static readonly string[] TaskKeys = ["id", "worker", "description", "with", "depends_on", "after", "priority", "timeout_seconds", "retry", "estimate_seconds", "estimate_tokens", "estimate_cost", "cache", "context"];
    private static readonly string[] ParallelismKeys = ["min_workers", "max_workers", "default_workers", "adaptive"];
    private static readonly string[] TimeoutKeys = ["default_task", "max_task", "worker_heartbeat"];
    private static readonly string[] ResourceKeys = ["max_memory_mb", "cpu_threshold"];
    private static readonly string[] ContextKeys = ["max_tokens", "strategy", "paths", "pattern", "model"];
    private static readonly string[] RetryKeys = ["max_attempts", "backoff_multiplier", "initial_delay", "max_delay", "jitter"];
    private static readonly string[] PriorityNames = ["critical", "high", "normal", "low"];
    private static readonly string[] FailureNames = ["continue", "fail_fast"];

    /// <summary>The largest amount a cost may be: below decimal's limit, which as a double rounds up past it.</summary>
    private const double MaxDecimal = 1e28;

    private PlanBinder(string source, PlanNode? tree = null)
        : base(source, tree)
    {
    }

    public static (PlanDefinition Plan, IReadOnlyList<PlanError> Errors) BindPlan(PlanNode root, string source)
    {
        // A plan file's positions are found in its own tree.
        var binder = new PlanBinder(source, root);
        binder.ReportDuplicateKeys(root);
        var plan = binder.BindPlanRoot(root, source);
        return (plan, binder._errors);
    }

    public static (ExecutorConfig Config, IReadOnlyList<PlanError> Errors) BindConfig(PlanNode root, string source)
    {
        var binder = new PlanBinder(source, root);
        binder.ReportDuplicateKeys(root);
        var config = new ExecutorConfig();
        if (binder.ExpectObject(root, "config") is { } obj)
        {
            foreach (var property in obj.Properties)
            {
                binder._map.Add(property.Key, property.KeyPosition);
                config = property.Key switch
                {
                    "$schema" => config,
                    "parallelism" => config with { Parallelism = binder.BindParallelism(property.Value, "parallelism") },
                    "timeouts" => config with { Timeouts = binder.BindTimeouts(property.Value, "timeouts") },
                    "retry" => config with { Retry = binder.BindRetry(property.Value, "retry", null) },
                    "resources" => config with { Resources = binder.BindResources(property.Value, "resources") },
                    _ => binder.UnknownKey(config, property, ConfigKeys, "config file", null),
                };
            }
        }

        PlanRules.Check(config, binder._map, binder._errors);
        return (config, binder._errors);
    }

    private PlanDefinition BindPlanRoot(PlanNode root, string source)
    {
        string? id = null;
        var description = string.Empty;
        var parallelism = new ParallelismSettings();
        var limits = new Dictionary<string, int>(StringComparer.Ordinal);
        var timeouts = new TimeoutSettings();
        var resources = new ResourceSettings();
        ContextSettings? context = null;
        var retry = RetrySettings.None;
        var onFailure = FailurePolicy.Continue;
        BudgetSettings? budget = null;
        var strategy = SchedulingStrategies.CriticalPath;
        var tasks = new List<TaskDefinition>();
        var inputs = new Dictionary<string, PlanInput>(StringComparer.Ordinal);
        var warnings = new List<PlanError>();

        if (ExpectObject(root, "plan") is { } obj)
        {
            _map.Add(string.Empty, obj.Position);
            foreach (var property in obj.Properties)
            {
                var key = property.Key;
                _map.Add(key, property.KeyPosition);
                switch (key)
                {
                    case "$schema":
                        break;
                    case "id":
                        id = String(property.Value, key, null);
                        break;
                    case "description":
                        description = String(property.Value, key, null) ?? string.Empty;
                        break;
                    case "inputs":
                        BindInputs(property.Value, inputs);
                        break;
                    case "parallelism":
                        parallelism = BindParallelism(property.Value, key);
                        break;
                    case "limits":
                        BindLimits(property.Value, limits);
                        break;
                    case "timeouts":
                        timeouts = BindTimeouts(property.Value, key);
                        break;
                    case "retry":
                        retry = BindRetry(property.Value, key, null) ?? RetrySettings.None;
                        break;
                    case "resources":
                        resources = BindResources(property.Value, key);
                        break;
                    case "context":
                        context = BindContext(property.Value, key, null);
                        break;
                    case "on_failure":
                        onFailure = Enum(property.Value, key, FailureNames, null) switch
                        {
                            "fail_fast" => FailurePolicy.FailFast,
                            _ => FailurePolicy.Continue,
                        };
                        break;
                    case "budget":
                        budget = BindBudget(property.Value);
                        break;
                    case "strategy":
                        // Checked against the catalog's strategies with the workers: plugins add their own.
                        strategy = String(property.Value, key, null) ?? strategy;
                        break;
                    case "tasks":
                        BindTasks(property.Value, tasks);
                        break;
                    default:
                        ReportUnknownKey(property, PlanKeys, "plan", null);
                        break;
                }
            }

            if (obj.Find("tasks") is null)
            {
                _errors.Add(_map.Error(PlanError.MissingCode, string.Empty, "the plan has no 'tasks' list"));
            }
        }

        warnings.AddRange(_errors.Where(e => e.IsWarning));
        _errors.RemoveAll(e => e.IsWarning);

        return new PlanDefinition
        {
            Id = id ?? Path.GetFileNameWithoutExtension(source),
            Description = description,
            Inputs = inputs,
            Parallelism = parallelism,
            Limits = limits,
            Timeouts = timeouts,
            Resources = resources,
            Context = context,
            Retry = retry,
            OnFailure = onFailure,
            Budget = budget,
            Strategy = strategy,
            Tasks = tasks,
            SourceFile = source,
            Warnings = warnings,
            SourceMap = _map,
        };
    }

    /// <summary>Binds <c>inputs</c>: each name maps to its type (<c>topic: string</c>) or to
    /// <c>{type, required, default, description}</c>.</summary>
    private void BindInputs(PlanNode node, Dictionary<string, PlanInput> inputs)
    {
        if (ExpectObject(node, "inputs") is not { } obj)
        {
            return;
        }

        foreach (var property in obj.Properties)
        {
            var name = property.Key;
            var path = $"inputs.{name}";
            _map.Add(path, property.KeyPosition);
            if (!InputNamePattern().IsMatch(name))
            {
                _errors.Add(new PlanError(PlanError.InvalidValueCode,
                    $"input name '{DisplayText.Shorten(name)}' may hold only letters, digits, '_' and '-', and must start with a letter or '_'", _map.Source, property.KeyPosition, null));
                continue;
            }

            if (property.Value is ScalarNode { Kind: ScalarKind.String })
            {
                if (InputType(property.Value, path) is { } shorthand)
                {
                    inputs[name] = new PlanInput(name, shorthand);
                }

                continue;
            }

            if (ExpectObject(property.Value, path) is not { } declaration)
            {
                continue;
            }

            PlanInputType? type = null;
            var required = false;
            System.Text.Json.JsonElement? fallback = null;
            var description = string.Empty;
            foreach (var setting in declaration.Properties)
            {
                var settingPath = $"{path}.{setting.Key}";
                _map.Add(settingPath, setting.KeyPosition);
                switch (setting.Key)
                {
                    case "type":
                        type = InputType(setting.Value, settingPath);
                        break;
                    case "required":
                        required = Boolean(setting.Value, settingPath, null) ?? false;
                        break;
                    case "default":
                        fallback = setting.Value.ToJsonElement();
                        break;
                    case "description":
                        description = String(setting.Value, settingPath, null) ?? string.Empty;
                        break;
                    default:
                        ReportUnknownKey(setting, InputKeys, $"input '{DisplayText.Shorten(name)}'", null);
                        break;
                }
            }

            if (declaration.Find("type") is null)
            {
                _errors.Add(_map.Error(PlanError.MissingCode, path, $"input '{DisplayText.Shorten(name)}' has no 'type' (one of {string.Join(", ", PlanInputs.TypeNames)})"));
            }
            else if (type is { } known)
            {
                inputs[name] = new PlanInput(name, known) { Required = required, Default = fallback, Description = description };
            }
        }
    }

    private PlanInputType? InputType(PlanNode node, string path) =>
        Enum(node, path, PlanInputs.TypeNames, null) is { } name ? (PlanInputType)Array.IndexOf(PlanInputs.TypeNames, name) : null;

    private void BindTasks(PlanNode node, List<TaskDefinition> tasks)
    {
        if (node is not ArrayNode array)
        {
            WrongType(node, "tasks", "a list of tasks", null);
            return;
        }

        if (array.Items.Count == 0)
        {
            _errors.Add(_map.Error(PlanError.MissingCode, "tasks", "the plan's 'tasks' list is empty"));
        }

        var parameters = new List<PlanNode>(array.Items.Count);
        foreach (var item in array.Items)
        {
            if (item is ObjectNode obj && obj.Find("with") is { Value: ObjectNode with })
            {
                parameters.Add(with);
            }
        }

        PlanNode.ParseAll(parameters);
        for (var i = 0; i < array.Items.Count; i++)
        {
            if (BindTask(array.Items[i], $"tasks[{i}]") is { } task)
            {
                tasks.Add(task);
            }
        }
    }

    private TaskDefinition? BindTask(PlanNode node, string path)
    {
        _map.Add(path, node.Position);
        if (ExpectObject(node, path) is not { } obj)
        {
            return null;
        }

        var idNode = obj.Find("id");
        var id = idNode is null ? null : String(idNode.Value, path + ".id", null);
        var taskId = id is null ? path : DisplayText.Shorten(id);
        if (idNode is null)
        {
            _errors.Add(_map.Error(PlanError.MissingCode, path, $"task {path} has no 'id'"));
        }

        // Its length and characters are rules (PlanRules), checked the same for a plan made in code.

        string? worker = null;
        var description = string.Empty;
        var with = (System.Text.Json.JsonElement?)null;
        IReadOnlyList<string> dependsOn = [];
        IReadOnlyList<string> after = [];
        var priority = TaskPriority.Normal;
        double? timeout = null;
        double? estimate = null;
        RetrySettings? retry = null;
        bool? cache = null;
        ContextSettings? context = null;
        double? estimateTokens = null, estimateCost = null;
        foreach (var property in obj.Properties)
        {
            var key = property.Key;
            var keyPath = $"{path}.{key}";
            _map.Add(keyPath, property.KeyPosition);
            var value = property.Value;
            switch (key)
            {
                case "id":
                    break;
                case "worker":
                    worker = String(value, keyPath, taskId);
                    break;
                case "description":
                    description = String(value, keyPath, taskId) ?? string.Empty;
                    break;
                case "with":
                    if (ExpectObject(value, keyPath, taskId) is { } parameters)
                    {
                        with = parameters.ToJsonElement();
                    }

                    break;
                case "depends_on":
                    dependsOn = IdList(value, keyPath, taskId);
                    break;
                case "after":
                    after = IdList(value, keyPath, taskId);
                    break;
                case "priority":
                    priority = Enum(value, keyPath, PriorityNames, taskId) switch
                    {
                        "critical" => TaskPriority.Critical,
                        "high" => TaskPriority.High,
                        "low" => TaskPriority.Low,
                        _ => TaskPriority.Normal,
                    };
                    break;
                case "timeout_seconds":
                    timeout = Number(value, keyPath, taskId);
                    break;
                case "retry":
                    retry = BindRetry(value, keyPath, taskId);
                    break;
                case "estimate_seconds":
                    estimate = Number(value, keyPath, taskId);
                    break;
                case "cache":
                    cache = Boolean(value, keyPath, taskId);
                    break;
                case "context":
                    context = BindContext(value, keyPath, taskId);
                    break;
                case "estimate_tokens":
                    estimateTokens = Number(value, keyPath, taskId, min: long.MinValue, max: long.MaxValue) is { } t ? Math.Floor(t) : null;
                    break;
                case "estimate_cost":
                    estimateCost = Number(value, keyPath, taskId, min: -MaxDecimal, max: MaxDecimal);
                    break;
                default:
                    ReportUnknownKey(property, TaskKeys, $"task '{taskId}'", taskId);
                    break;
            }
        }

        if (obj.Find("worker") is null)
        {
            _errors.Add(_map.Error(PlanError.MissingCode, path, $"task '{taskId}' has no 'worker'", taskId));
        }

        if (id is null)
        {
            return null;
        }

        return new TaskDefinition
        {
            Id = id,
            Worker = worker ?? string.Empty,
            Description = description,
            DependsOn = dependsOn,
            After = after,
            Priority = priority,
            TimeoutSeconds = timeout,
            Retry = retry,
            EstimateSeconds = estimate,
            Cache = cache,
            Context = context,
            EstimateTokens = (long?)estimateTokens,
            EstimateCost = (decimal?)estimateCost,
            With = with ?? TaskDefinition.EmptyParameters,
        };
    }

    private BudgetSettings? BindBudget(PlanNode node)
    {
        if (ExpectObject(node, "budget") is not { } obj)
        {
            return null;
        }

        long? tokens = null;
        decimal? cost = null;
        var policy = BudgetPolicy.Pool;
        var cap = 1.0;
        double? wall = null;
        foreach (var property in obj.Properties)
        {
            var path = $"budget.{property.Key}";
            _map.Add(path, property.KeyPosition);
            switch (property.Key)
            {
                case "tokens":
                    tokens = Number(property.Value, path, null, min: long.MinValue, max: long.MaxValue) is { } t ? (long)Math.Floor(t) : null;
                    break;
                case "cost":
                    cost = Number(property.Value, path, null, min: -MaxDecimal, max: MaxDecimal) is { } c ? (decimal)c : null;
                    break;
                case "policy":
                    policy = Enum(property.Value, path, BudgetPolicies, null) switch
                    {
                        "equal" => BudgetPolicy.Equal,
                        "proportional" => BudgetPolicy.Proportional,
                        _ => BudgetPolicy.Pool,
                    };
                    break;
                case "wall_seconds":
                    wall = Number(property.Value, path, null);
                    break;
                case "task_cap":
                    cap = Number(property.Value, path, null) ?? cap;
                    break;
                default:
                    ReportUnknownKey(property, BudgetKeys, "budget", null);
                    break;
            }
        }

        // Ranges, and whether anything is budgeted at all, are PlanRules'.
        return new BudgetSettings(tokens, cost, policy, cap, wall);
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_-]*$")]
    private static partial Regex InputNamePattern();

}
