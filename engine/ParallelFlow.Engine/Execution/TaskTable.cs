using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// A run's per-task state: one row per task, stored as columns (a scheduling step that scans statuses reads 4 bytes a
/// task, not a whole row).
/// </summary>
/// <remarks>
/// Who may write a row: the scheduling step, under the run's gate, while the task is pending, ready or final; the one
/// thread executing the task while it is <see cref="TaskRunStatus.Running"/> (its start, attempts, result, error and
/// end). The executing thread writes before it hands the task back through the gate, and the step reads after, so the
/// gate orders the two. <see cref="FlowRun.GetStatus"/> reads rows without the gate, on purpose: a snapshot may be a
/// step behind, never torn (each cell is written whole).
/// </remarks>
internal sealed class TaskTable
{
    public TaskTable(int count)
    {
        Count = count;
        Status = new TaskRunStatus[count];
        Results = new TaskResult?[count];
        Errors = new string?[count];
        FailureKinds = new FailureKind[count];
        Attempts = new int[count];
        Started = new long[count];
        Ended = new long[count];
    }

    public int Count { get; }

    public readonly TaskRunStatus[] Status;

    public readonly TaskResult?[] Results;

    public readonly string?[] Errors;

    public readonly FailureKind[] FailureKinds;

    /// <summary>Attempts made so far; 0 for a task that never ran (restored, skipped, cancelled before it started).</summary>
    public readonly int[] Attempts;

    /// <summary>Clock timestamps (<see cref="TimeProvider.GetTimestamp"/>) of the task's start and end; 0 when it did not run.</summary>
    public readonly long[] Started;

    /// <inheritdoc cref="Started"/>
    public readonly long[] Ended;

    /// <summary>Each task's worker slot, 1-based; kept only when someone watches the run's events.</summary>
    public int[]? Slots;

    /// <summary>Each task's cache key; kept only for a run with a cache.</summary>
    public TaskCacheKey?[]? CacheKeys;

    private bool[]? _abandoned;

    /// <summary>Ends a task that never ran.</summary>
    public void End(int task, TaskRunStatus status, FailureKind kind, string? error)
    {
        Status[task] = status;
        FailureKinds[task] = kind;
        Errors[task] = error;
    }

    /// <summary>How long the task ran, or zero when it did not.</summary>
    public TimeSpan Duration(int task, TimeProvider clock) =>
        Started[task] == 0 || Ended[task] == 0 ? TimeSpan.Zero : clock.GetElapsedTime(Started[task], Ended[task]);

    /// <summary>Records that an attempt of the task was left running after its cancellation. Written by a timer's
    /// thread, read by the retry policy's: both through <see cref="Volatile"/>.</summary>
    public void MarkAbandoned(int task)
    {
        var abandoned = Volatile.Read(ref _abandoned) ?? Interlocked.CompareExchange(ref _abandoned, new bool[Count], null) ?? _abandoned!;
        Volatile.Write(ref abandoned[task], true);
    }

    /// <summary>Whether an attempt of the task was abandoned while still running.</summary>
    public bool WasAbandoned(int task) => Volatile.Read(ref _abandoned) is { } abandoned && Volatile.Read(ref abandoned[task]);
}
