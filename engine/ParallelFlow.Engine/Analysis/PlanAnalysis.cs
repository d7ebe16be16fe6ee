namespace ParallelFlow.Engine.Analysis;

/// <summary>What a plan's shape says before it runs: its waves, critical path, width and the fastest any schedule
/// could finish it. Durations come from each task's <c>estimate_seconds</c> (1 when absent).</summary>
public sealed class PlanAnalysis
{
    /// <summary>The tasks grouped by level: wave 0 has no dependencies, wave k depends on something in wave k−1.
    /// Waves are a reporting concept; the engine does not wait for a wave to finish.</summary>
    public required IReadOnlyList<IReadOnlyList<string>> Waves { get; init; }

    /// <summary>The longest chain of dependent tasks by estimated duration, first task first.</summary>
    public required IReadOnlyList<string> CriticalPath { get; init; }

    /// <summary>The critical path's estimated duration in seconds.</summary>
    public required double CriticalPathSeconds { get; init; }

    /// <summary>The estimated duration of all tasks together, in seconds.</summary>
    public required double TotalWorkSeconds { get; init; }

    /// <summary>The number of tasks in the widest wave.</summary>
    public int MaxWidth => Waves.Count == 0 ? 0 : Waves.Max(w => w.Count);

    /// <summary>The number of tasks.</summary>
    public required int TaskCount { get; init; }

    /// <summary>The number of dependency edges, hard and soft.</summary>
    public required int EdgeCount { get; init; }

    /// <summary>Tasks that wait for two or more others: the points where parallel branches join.</summary>
    public required int SyncPoints { get; init; }

    /// <summary>The least time any schedule needs with a given number of workers:
    /// max(critical path, total work / workers).</summary>
    /// <param name="workers">The number of workers.</param>
    /// <returns>The bound in seconds.</returns>
    public double LowerBoundSeconds(int workers) => Math.Max(CriticalPathSeconds, TotalWorkSeconds / Math.Max(1, workers));
}
