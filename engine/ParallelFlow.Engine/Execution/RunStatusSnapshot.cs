namespace ParallelFlow.Engine.Execution;

/// <summary>A run's state at one moment, from <see cref="FlowRun.GetStatus"/>.</summary>
public sealed record RunStatusSnapshot
{
    /// <summary>Worker slots running a task.</summary>
    public required int BusyWorkers { get; init; }

    /// <summary>Worker slots with nothing to do.</summary>
    public required int IdleWorkers { get; init; }

    /// <summary>Tasks not started.</summary>
    public required int Pending { get; init; }

    /// <summary>Tasks running.</summary>
    public required int Running { get; init; }

    /// <summary>Tasks that succeeded (cached ones included).</summary>
    public required int Succeeded { get; init; }

    /// <summary>Tasks that failed or timed out.</summary>
    public required int Failed { get; init; }

    /// <summary>Tasks skipped because a hard dependency did not succeed.</summary>
    public required int Skipped { get; init; }

    /// <summary>Tasks cancelled.</summary>
    public required int Cancelled { get; init; }

    /// <summary>Finished tasks by worker type, in the order they finished.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<TaskHistoryEntry>> History { get; init; }
}
