namespace ParallelFlow.Engine.Plans;

/// <summary>The order in which ready tasks get a free worker.</summary>
public enum SchedulingStrategy
{
    /// <summary>Priority first, then the longest remaining path (by estimate) to the end of the plan, then plan order. The default.</summary>
    CriticalPath,

    /// <summary>Priority first, then the order in which tasks became ready.</summary>
    Priority,

    /// <summary>The order in which tasks became ready, whatever their priority.</summary>
    Fifo,

    /// <summary>The shortest estimate first, then plan order (ignores priority).</summary>
    ShortestFirst,
}

/// <summary>The names plans and the command line use for strategies.</summary>
public static class SchedulingStrategyNames
{
    /// <summary>Every name, in the order of <see cref="SchedulingStrategy"/>.</summary>
    public static IReadOnlyList<string> All { get; } = ["critical_path", "priority", "fifo", "shortest_first"];

    /// <summary>The strategy with this name, or null.</summary>
    public static SchedulingStrategy? Parse(string? name) => name switch
    {
        "critical_path" => SchedulingStrategy.CriticalPath,
        "priority" => SchedulingStrategy.Priority,
        "fifo" => SchedulingStrategy.Fifo,
        "shortest_first" => SchedulingStrategy.ShortestFirst,
        _ => null,
    };
}
