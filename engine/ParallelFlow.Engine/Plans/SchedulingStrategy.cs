namespace ParallelFlow.Engine.Plans;

/// <summary>
/// The names of the built-in scheduling strategies: the order in which ready tasks get a free worker. Plugins add
/// their own (<see cref="Sdk.IPluginRegistrar.AddStrategy"/>); a plan names one in <c>strategy</c>, a run in
/// <see cref="Execution.RunOptions.Strategy"/> or <c>--strategy</c>.
/// </summary>
public static class SchedulingStrategies
{
    /// <summary>Priority first, then the longest remaining path to the end of the plan, then plan order. The path is
    /// measured by estimates, corrected during the run by the durations observed for each worker type. The default.</summary>
    public const string CriticalPath = "critical_path";

    /// <summary>Priority first, then the order in which tasks became ready.</summary>
    public const string Priority = "priority";

    /// <summary>The order in which tasks became ready, whatever their priority.</summary>
    public const string Fifo = "fifo";

    /// <summary>The shortest estimate first, then plan order (ignores priority).</summary>
    public const string ShortestFirst = "shortest_first";

    /// <summary>The built-in names.</summary>
    public static IReadOnlyList<string> BuiltIn { get; } = [CriticalPath, Priority, Fifo, ShortestFirst];

    internal static BuiltInStrategy? Parse(string? name) => name switch
    {
        CriticalPath => BuiltInStrategy.CriticalPath,
        Priority => BuiltInStrategy.Priority,
        Fifo => BuiltInStrategy.Fifo,
        ShortestFirst => BuiltInStrategy.ShortestFirst,
        _ => null,
    };
}

/// <summary>How a run ranks its ready tasks: a built-in order on precomputed keys, or a plugin's comparison.</summary>
internal enum BuiltInStrategy
{
    CriticalPath,
    Priority,
    Fifo,
    ShortestFirst,
    Plugin,
}
