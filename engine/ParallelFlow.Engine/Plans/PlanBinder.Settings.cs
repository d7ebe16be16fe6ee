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
