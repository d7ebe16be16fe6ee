namespace ParallelFlow.Engine.Replay;

/// <summary>How a replayed workflow task spends its recorded runtime.</summary>
public enum ReplayMode
{
    /// <summary>It waits on the clock, holding no core: latency-bound work, like a model call or a remote job.</summary>
    Sleep,

    /// <summary>It keeps a core busy: CPU-bound work, like a compiler or a test run.</summary>
    Cpu,
}
