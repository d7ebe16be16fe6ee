using System.Globalization;
using System.Text.RegularExpressions;

namespace ParallelFlow.Engine.Plans;

/// <summary>Turns the nodes of a plan or config file into settings, collecting every problem with its position
/// instead of stopping at the first: unknown keys (with the closest known one), wrong types, out-of-range values.</summary>
internal sealed partial class PlanBinder
{
    private static readonly string[] PlanKeys = ["$schema", "id", "description", "parallelism", "limits", "timeouts", "retry", "on_failure", "tasks"];
    private static readonly string[] ConfigKeys = ["$schema", "parallelism", "timeouts", "retry", "resources"];
    private static readonly string[] TaskKeys = ["id", "worker", "description", "with", "depends_on", "after", "priority", "timeout_seconds", "retry", "estimate_seconds"];
    private static readonly string[] ParallelismKeys = ["min_workers", "max_workers", "default_workers"];
    private static readonly string[] TimeoutKeys = ["default_task", "max_task", "worker_heartbeat"];
    private static readonly string[] RetryKeys = ["max_attempts", "backoff_multiplier", "initial_delay", "max_delay", "jitter"];
    private static readonly string[] PriorityNames = ["critical", "high", "normal", "low"];
    private static readonly string[] FailureNames = ["continue", "fail_fast"];

    private readonly List<PlanError> _errors = [];
    private readonly PlanSourceMap _map;

    private PlanBinder(string source) => _map = new PlanSourceMap(source);

    public static (PlanDefinition Plan, IReadOnlyList<PlanError> Errors) BindPlan(PlanNode root, string source)
    {
        var binder = new PlanBinder(source);
        binder.ReportDuplicateKeys(root);
        var plan = binder.BindPlanRoot(root, source);
        return (plan, binder._errors);
    }

    public static (ExecutorConfig Config, IReadOnlyList<PlanError> Errors) BindConfig(PlanNode root, string source)
    {
        var binder = new PlanBinder(source);
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
                    "resources" => binder.NotEnforced(config, property, "resources"),
                    _ => binder.UnknownKey(config, property, property.Key, ConfigKeys, "config file", null),
                };
            }
        }

        return (config, binder._errors);
    }

    private PlanDefinition BindPlanRoot(PlanNode root, string source)
    {
        string? id = null;
        var description = string.Empty;
        var parallelism = new ParallelismSettings();
        var limits = new Dictionary<string, int>(StringComparer.Ordinal);
        var timeouts = new TimeoutSettings();
        var retry = RetrySettings.None;
        var onFailure = FailurePolicy.Continue;
        var tasks = new List<TaskDefinition>();
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
                    case "on_failure":
                        onFailure = Enum(property.Value, key, FailureNames, null) switch
                        {
                            "fail_fast" => FailurePolicy.FailFast,
                            _ => FailurePolicy.Continue,
                        };
                        break;
                    case "tasks":
                        BindTasks(property.Value, tasks);
                        break;
                    default:
                        UnknownKey(0, property, key, PlanKeys, "plan", null);
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
        _errors.InsertRange(0, warnings);

        return new PlanDefinition
        {
            Id = id ?? Path.GetFileNameWithoutExtension(source),
            Description = description,
            Parallelism = parallelism,
            Limits = limits,
            Timeouts = timeouts,
            Retry = retry,
            OnFailure = onFailure,
            Tasks = tasks,
            SourceFile = source,
            Warnings = warnings,
            SourceMap = _map,
        };
    }

    /// <summary>A key given twice in one object would silently keep only its last value; both readers keep every
    /// occurrence, so it can be reported here with both places.</summary>
    private void ReportDuplicateKeys(PlanNode node)
    {
        switch (node)
        {
            case ObjectNode obj:
                var seen = new Dictionary<string, SourcePosition>(StringComparer.Ordinal);
                foreach (var property in obj.Properties)
                {
                    if (!seen.TryAdd(property.Key, property.KeyPosition))
                    {
                        var first = seen[property.Key];
                        _errors.Add(new PlanError(PlanError.DuplicateKeyCode,
                            $"key '{property.Key}' is given twice in one object (first at line {first.Line}, column {first.Column}); only one may stand",
                            _map.Source, property.KeyPosition, null));
                    }

                    ReportDuplicateKeys(property.Value);
                }

                break;
            case ArrayNode array:
                foreach (var item in array.Items)
                {
                    ReportDuplicateKeys(item);
                }

                break;
        }
    }

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
        var taskId = id ?? path;
        if (idNode is null)
        {
            _errors.Add(_map.Error(PlanError.MissingCode, path, $"task {path} has no 'id'"));
        }
        else if (id is not null && !TaskIdPattern().IsMatch(id))
        {
            _errors.Add(new PlanError(PlanError.InvalidValueCode,
                $"task id '{id}' may hold only letters, digits and '-', '_', '.', ':', and must start with a letter or digit", _map.Source, idNode.Value.Position, id));
        }

        string? worker = null;
        var description = string.Empty;
        var with = (System.Text.Json.JsonElement?)null;
        IReadOnlyList<string> dependsOn = [];
        IReadOnlyList<string> after = [];
        var priority = TaskPriority.Normal;
        double? timeout = null;
        double? estimate = null;
        RetrySettings? retry = null;
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
                        foreach (var parameter in parameters.Properties)
                        {
                            _map.Add($"{keyPath}.{parameter.Key}", parameter.KeyPosition);
                        }

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
                    timeout = Number(value, keyPath, taskId, min: 0, minExclusive: true);
                    break;
                case "retry":
                    retry = BindRetry(value, keyPath, taskId);
                    break;
                case "estimate_seconds":
                    estimate = Number(value, keyPath, taskId, min: 0);
                    break;
                default:
                    UnknownKey(0, property, key, TaskKeys, $"task '{taskId}'", taskId);
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
            With = with ?? TaskDefinition.EmptyParameters,
        };
    }

    private ParallelismSettings BindParallelism(PlanNode node, string path)
    {
        var settings = new ParallelismSettings();
        if (ExpectObject(node, path) is not { } obj)
        {
            return settings;
        }

        foreach (var property in obj.Properties)
        {
            var keyPath = $"{path}.{property.Key}";
            _map.Add(keyPath, property.KeyPosition);
            settings = property.Key switch
            {
                "min_workers" => settings with { MinWorkers = Integer(property.Value, keyPath, null, min: 1) },
                "max_workers" => settings with { MaxWorkers = Integer(property.Value, keyPath, null, min: 1) },
                "default_workers" => settings with { DefaultWorkers = Integer(property.Value, keyPath, null, min: 1) },
                _ => UnknownKey(settings, property, property.Key, ParallelismKeys, "parallelism", null),
            };
        }

        if (settings is { MinWorkers: { } min, MaxWorkers: { } max } && min > max)
        {
            _errors.Add(_map.Error(PlanError.OutOfRangeCode, path + ".min_workers", $"parallelism.min_workers ({min}) is greater than max_workers ({max})"));
        }

        if (settings.DefaultWorkers is { } workers &&
            (workers < (settings.MinWorkers ?? 1) || workers > (settings.MaxWorkers ?? int.MaxValue)))
        {
            _errors.Add(_map.Error(PlanError.OutOfRangeCode, path + ".default_workers",
                $"parallelism.default_workers ({workers}) is outside min_workers..max_workers ({settings.MinWorkers ?? 1}..{settings.MaxWorkers?.ToString(CultureInfo.InvariantCulture) ?? "unbounded"})"));
        }

        return settings;
    }

    private TimeoutSettings BindTimeouts(PlanNode node, string path)
    {
        var settings = new TimeoutSettings();
        if (ExpectObject(node, path) is not { } obj)
        {
            return settings;
        }

        foreach (var property in obj.Properties)
        {
            var keyPath = $"{path}.{property.Key}";
            _map.Add(keyPath, property.KeyPosition);
            settings = property.Key switch
            {
                "default_task" => settings with { DefaultTaskSeconds = Number(property.Value, keyPath, null, min: 0, minExclusive: true) },
                "max_task" => settings with { MaxTaskSeconds = Number(property.Value, keyPath, null, min: 0, minExclusive: true) },
                "worker_heartbeat" => NotEnforced(settings, property, keyPath),
                _ => UnknownKey(settings, property, property.Key, TimeoutKeys, "timeouts", null),
            };
        }

        if (settings is { DefaultTaskSeconds: { } defaultTask, MaxTaskSeconds: { } maxTask } && defaultTask > maxTask)
        {
            _errors.Add(_map.Error(PlanError.OutOfRangeCode, path + ".default_task", $"timeouts.default_task ({defaultTask}s) is greater than max_task ({maxTask}s)"));
        }

        return settings;
    }

    private RetrySettings? BindRetry(PlanNode node, string path, string? taskId)
    {
        if (ExpectObject(node, path, taskId) is not { } obj)
        {
            return null;
        }

        var settings = new RetrySettings();
        foreach (var property in obj.Properties)
        {
            var keyPath = $"{path}.{property.Key}";
            _map.Add(keyPath, property.KeyPosition);
            settings = property.Key switch
            {
                "max_attempts" => settings with { MaxAttempts = Integer(property.Value, keyPath, taskId, min: 1, max: 100) ?? 1 },
                "backoff_multiplier" => settings with { BackoffMultiplier = Number(property.Value, keyPath, taskId, min: 1, max: 100) ?? 2 },
                "initial_delay" => settings with { InitialDelaySeconds = Number(property.Value, keyPath, taskId, min: 0, max: 86_400) ?? 1 },
                "max_delay" => settings with { MaxDelaySeconds = Number(property.Value, keyPath, taskId, min: 0, max: 86_400) },
                "jitter" => settings with { Jitter = Boolean(property.Value, keyPath, taskId) ?? true },
                _ => UnknownKey(settings, property, property.Key, RetryKeys, "retry", taskId),
            };
        }

        return settings;
    }

    private void BindLimits(PlanNode node, Dictionary<string, int> limits)
    {
        if (ExpectObject(node, "limits") is not { } obj)
        {
            return;
        }

        foreach (var property in obj.Properties)
        {
            var keyPath = $"limits.{property.Key}";
            _map.Add(keyPath, property.KeyPosition);
            if (Integer(property.Value, keyPath, null, min: 1) is { } limit)
            {
                limits[property.Key] = limit;
            }
        }
    }

    private List<string> IdList(PlanNode node, string path, string? taskId)
    {
        var ids = new List<string>();
        if (node is ScalarNode { Kind: ScalarKind.String } single)
        {
            _map.Add(path + "[0]", single.Position);
            ids.Add(single.Text);
            return ids;
        }

        if (node is not ArrayNode array)
        {
            WrongType(node, path, "a list of task ids", taskId);
            return ids;
        }

        for (var i = 0; i < array.Items.Count; i++)
        {
            var itemPath = $"{path}[{i}]";
            _map.Add(itemPath, array.Items[i].Position);
            if (String(array.Items[i], itemPath, taskId) is { } id)
            {
                ids.Add(id);
            }
        }

        return ids;
    }

    private ObjectNode? ExpectObject(PlanNode node, string path, string? taskId = null)
    {
        if (node is ObjectNode obj)
        {
            return obj;
        }

        WrongType(node, path, "an object", taskId);
        return null;
    }

    private string? String(PlanNode node, string path, string? taskId)
    {
        if (node is ScalarNode { Kind: ScalarKind.String } scalar)
        {
            return scalar.Text;
        }

        WrongType(node, path, "a string", taskId);
        return null;
    }

    private bool? Boolean(PlanNode node, string path, string? taskId)
    {
        if (node is ScalarNode { Kind: ScalarKind.Boolean } scalar)
        {
            return scalar.Text == "true";
        }

        WrongType(node, path, "true or false", taskId);
        return null;
    }

    private string? Enum(PlanNode node, string path, string[] names, string? taskId)
    {
        if (String(node, path, taskId) is not { } text)
        {
            return null;
        }

        if (Array.IndexOf(names, text) >= 0)
        {
            return text;
        }

        var suggestion = Suggest(text, names);
        _errors.Add(new PlanError(PlanError.InvalidValueCode,
            $"{Describe(path, taskId)}: '{text}' is not one of {string.Join(", ", names)}{(suggestion is null ? "" : $". Did you mean '{suggestion}'?")}",
            _map.Source, node.Position, taskId));
        return null;
    }

    private double? Number(PlanNode node, string path, string? taskId, double min = double.MinValue, double max = double.MaxValue, bool minExclusive = false)
    {
        if (node is not ScalarNode { Kind: ScalarKind.Number } scalar ||
            !double.TryParse(scalar.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            WrongType(node, path, "a number", taskId);
            return null;
        }

        if (value < min || (minExclusive && value <= min) || value > max || !double.IsFinite(value))
        {
            var range = max == double.MaxValue
                ? (minExclusive ? $"greater than {min}" : $"at least {min}")
                : $"between {min} and {max}";
            _errors.Add(new PlanError(PlanError.OutOfRangeCode, $"{Describe(path, taskId)} must be {range}; got {scalar.Text}", _map.Source, node.Position, taskId));
            return null;
        }

        return value;
    }

    private int? Integer(PlanNode node, string path, string? taskId, int min = int.MinValue, int max = int.MaxValue)
    {
        if (Number(node, path, taskId, min, max) is not { } value)
        {
            return null;
        }

        if (value != Math.Floor(value))
        {
            _errors.Add(new PlanError(PlanError.WrongTypeCode, $"{Describe(path, taskId)} must be a whole number; got {value.ToString(CultureInfo.InvariantCulture)}", _map.Source, node.Position, taskId));
            return null;
        }

        return (int)value;
    }

    private void WrongType(PlanNode node, string path, string expected, string? taskId) =>
        _errors.Add(new PlanError(PlanError.WrongTypeCode, $"{Describe(path, taskId)} must be {expected}; got {node.KindName}", _map.Source, node.Position, taskId));

    private T UnknownKey<T>(T unchanged, PropertyNode property, string key, string[] known, string where, string? taskId)
    {
        var suggestion = Suggest(key, known);
        var hint = suggestion is null ? $" Known keys: {string.Join(", ", known.Where(k => k != "$schema"))}." : $" Did you mean '{suggestion}'?";
        _errors.Add(new PlanError(PlanError.UnknownKeyCode, $"{where}: unknown key '{key}'.{hint}", _map.Source, property.KeyPosition, taskId));
        return unchanged;
    }

    private T NotEnforced<T>(T unchanged, PropertyNode property, string path)
    {
        _errors.Add(new PlanError(PlanError.NotEnforcedCode, $"'{path}' is accepted for compatibility but not enforced by ParallelFlow",
            _map.Source, property.KeyPosition, null, IsWarning: true));
        return unchanged;
    }

    private static string Describe(string path, string? taskId) =>
        taskId is null ? path : $"task '{taskId}': {path[(path.IndexOf('.', StringComparison.Ordinal) + 1)..]}";

    internal static string? Suggest(string typed, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var distance = EditDistance(typed.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return bestDistance <= Math.Max(2, typed.Length / 3) ? best : null;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")]
    private static partial Regex TaskIdPattern();
}
