using System.Text.RegularExpressions;

namespace ParallelFlow.Engine.Plans;

/// <summary>Binding the settings sections shared by plans and config files: parallelism, timeouts, retry, limits.</summary>
internal sealed partial class PlanBinder
{
    private ParallelismSettings BindParallelism(PlanNode node, string path)
    {
        var settings = new ParallelismSettings();
        foreach (var (property, keyPath) in Section(node, path) ?? [])
        {
            settings = property.Key switch
            {
                "min_workers" => settings with { MinWorkers = Integer(property.Value, keyPath, null) },
                "max_workers" => settings with { MaxWorkers = Integer(property.Value, keyPath, null) },
                "default_workers" => settings with { DefaultWorkers = Integer(property.Value, keyPath, null) },
                "adaptive" => settings with { Adaptive = Boolean(property.Value, keyPath, null) ?? false },
                _ => UnknownKey(settings, property, ParallelismKeys, "parallelism", null),
            };
        }

        // Ranges, and how the three relate, are PlanRules'.
        return settings;
    }

    private TimeoutSettings BindTimeouts(PlanNode node, string path)
    {
        var settings = new TimeoutSettings();
        foreach (var (property, keyPath) in Section(node, path) ?? [])
        {
            settings = property.Key switch
            {
                "default_task" => settings with { DefaultTaskSeconds = Number(property.Value, keyPath, null) },
                "max_task" => settings with { MaxTaskSeconds = Number(property.Value, keyPath, null) },
                "worker_heartbeat" => settings with { WorkerHeartbeatSeconds = Number(property.Value, keyPath, null) },
                _ => UnknownKey(settings, property, TimeoutKeys, "timeouts", null),
            };
        }

        return settings;
    }

    private ResourceSettings BindResources(PlanNode node, string path)
    {
        var settings = new ResourceSettings();
        foreach (var (property, keyPath) in Section(node, path) ?? [])
        {
            settings = property.Key switch
            {
                "max_memory_mb" => settings with { MaxMemoryMb = Number(property.Value, keyPath, null) },
                "cpu_threshold" => settings with { CpuThreshold = Number(property.Value, keyPath, null) },
                _ => UnknownKey(settings, property, ResourceKeys, "resources", null),
            };
        }

        return settings;
    }

    /// <summary>Binds <c>context</c>: a limit in tokens and how to keep under it; null (with the errors) when it cannot be
    /// used.</summary>
    private ContextSettings? BindContext(PlanNode node, string path, string? taskId)
    {
        if (Section(node, path, taskId) is not { } properties)
        {
            return null;
        }

        int? maxTokens = null;
        var strategy = ContextSettings.TruncateMiddle;
        List<string> paths = [];
        string? pattern = null, model = null;
        var errors = _errors.Count;
        foreach (var (property, keyPath) in properties)
        {
            switch (property.Key)
            {
                case "max_tokens":
                    maxTokens = Integer(property.Value, keyPath, taskId, min: 1, max: 10_000_000);
                    break;
                case "strategy":
                    strategy = Enum(property.Value, keyPath, [.. ContextSettings.Strategies], taskId) ?? strategy;
                    break;
                case "paths":
                    if (property.Value is ArrayNode array)
                    {
                        paths.AddRange(array.Items.Select((item, i) => String(item, $"{keyPath}[{i}]", taskId)).OfType<string>());
                    }
                    else
                    {
                        _errors.Add(_map.Error(PlanError.WrongTypeCode, keyPath, $"{Describe(keyPath, taskId)} must be a list of paths", taskId));
                    }

                    break;
                case "pattern":
                    pattern = String(property.Value, keyPath, taskId);
                    if (pattern is not null)
                    {
                        try
                        {
                            _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
                        }
                        catch (ArgumentException ex)
                        {
                            _errors.Add(_map.Error(PlanError.InvalidValueCode, keyPath, $"{Describe(keyPath, taskId)} is not a regular expression: {ex.Message}", taskId));
                        }
                    }

                    break;
                case "model":
                    model = String(property.Value, keyPath, taskId);
                    break;
                default:
                    ReportUnknownKey(property, ContextKeys, path, taskId);
                    break;
            }
        }

        if (maxTokens is null && _errors.Count == errors)
        {
            _errors.Add(_map.Error(PlanError.MissingCode, path, $"{Describe(path, taskId)} needs 'max_tokens'", taskId));
        }

        if (strategy == ContextSettings.Extract && paths.Count == 0 && pattern is null)
        {
            _errors.Add(_map.Error(PlanError.MissingCode, path, $"{Describe(path, taskId)}: the extract strategy needs 'paths' or 'pattern'", taskId));
        }

        if (strategy == ContextSettings.Summarize && model is null)
        {
            _errors.Add(_map.Error(PlanError.MissingCode, path, $"{Describe(path, taskId)}: the summarize strategy needs 'model' (one of the models the llm worker knows)", taskId));
        }

        return maxTokens is { } max && _errors.Count == errors ? new ContextSettings(max, strategy) { Paths = paths, Pattern = pattern, Model = model } : null;
    }

    private RetrySettings? BindRetry(PlanNode node, string path, string? taskId)
    {
        if (Section(node, path, taskId) is not { } properties)
        {
            return null;
        }

        var settings = new RetrySettings();
        foreach (var (property, keyPath) in properties)
        {
            settings = property.Key switch
            {
                "max_attempts" => settings with { MaxAttempts = Integer(property.Value, keyPath, taskId) ?? 1 },
                "backoff_multiplier" => settings with { BackoffMultiplier = Number(property.Value, keyPath, taskId) ?? 2 },
                "initial_delay" => settings with { InitialDelaySeconds = Number(property.Value, keyPath, taskId) ?? 1 },
                "max_delay" => settings with { MaxDelaySeconds = Number(property.Value, keyPath, taskId) },
                "jitter" => settings with { Jitter = Boolean(property.Value, keyPath, taskId) ?? true },
                _ => UnknownKey(settings, property, RetryKeys, "retry", taskId),
            };
        }

        return settings;
    }

    private void BindLimits(PlanNode node, Dictionary<string, int> limits)
    {
        foreach (var (property, keyPath) in Section(node, "limits") ?? [])
        {
            if (Integer(property.Value, keyPath, null) is { } limit)
            {
                limits[property.Key] = limit;
            }
        }
    }

    /// <summary>The properties of a settings section, each with its key path, whose position is recorded for later
    /// checks; null (with an error) when the node is not an object.</summary>
    private List<(PropertyNode Property, string KeyPath)>? Section(PlanNode node, string path, string? taskId = null)
    {
        if (ExpectObject(node, path, taskId) is not { } obj)
        {
            return null;
        }

        var properties = new List<(PropertyNode, string)>(obj.Properties.Count);
        foreach (var property in obj.Properties)
        {
            var keyPath = $"{path}.{property.Key}";
            _map.Add(keyPath, property.KeyPosition);
            properties.Add((property, keyPath));
        }

        return properties;
    }
}
