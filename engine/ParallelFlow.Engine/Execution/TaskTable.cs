using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// A run's per-task state: what every task writes (status, attempts, start, end) in one <see cref="TaskRow"/> a task,
/// read and written through column views; its result in a column; its error and failure kind in columns made at the
/// first task that has one.
/// </summary>
/// <remarks>
/// Who may write a row: the scheduling step, under the run's gate, while the task is pending, ready or final; the one
/// thread executing the task while it is <see cref="TaskRunStatus.Running"/> (its start, attempts, result, error and
/// end); and, in the hand-over and the lock-free lane, the thread that takes a ready task outside the gate (its status,
/// to running). The executing thread writes before it hands the task back through the gate (or releases its
/// dependents' counts with atomic operations, outside it), and whoever reads after is ordered by the same. <see cref="FlowRun.GetStatus"/> reads rows without the gate, on purpose: a snapshot may be a
/// step behind, never torn (each cell is written whole).
/// </remarks>
internal sealed class TaskTable
{
    /// <summary>A table for a run: on the arrays an earlier run of the plan gave back, else on new ones.</summary>
    public TaskTable(int count, RunArrays? kept = null)
    {
        Count = count;
        TaskRow[] rows;
        if (kept is not null)
        {
            // Cleared when they were given back (RunArrays.Cleared).
            rows = kept.Rows;
            Results = kept.Results;
        }
        else
        {
            rows = new TaskRow[count];
            Results = new TaskResult?[count];
        }

        _rows = rows;
        Status = new(rows);
        Attempts = new(rows);
        Started = new(rows);
        Ended = new(rows);
        Errors = new(this);
        FailureKinds = new(this);
    }

    public int Count { get; }

    private readonly TaskRow[] _rows;

    /// <summary>Whether the run's result was disposed: its arrays may already serve another run of the plan, so
    /// nothing may read them (<see cref="ThrowIfReleased"/>).</summary>
    public bool Released => Volatile.Read(ref _released);

    private bool _released;

    /// <summary>Marks the table released (see <see cref="Released"/>).</summary>
    public void Release() => Volatile.Write(ref _released, true);

    /// <summary>Throws for a read of a table whose run's result was disposed.</summary>
    /// <param name="afterReads">Checked after reading: the reads are fenced first, so what they read was this run's.</param>
    public void ThrowIfReleased(bool afterReads = false)
    {
        if (afterReads)
        {
            Interlocked.MemoryBarrier();
        }

        if (Released)
        {
            throw new ObjectDisposedException(nameof(RunResult), "The run's result was disposed: its tasks' outcomes are no longer kept. Read them before disposing the result.");
        }
    }

    /// <summary>The arrays a later run may take again, with the run's own <paramref name="remaining"/> counts; null
    /// when an attempt was abandoned (its worker may still read a dependency view, so its run's arrays are left to
    /// the collector).</summary>
    public RunArrays? Arrays(int[] remaining, LaneSets? lane) => Volatile.Read(ref _abandoned) is null ? RunArrays.Cleared(_rows, Results, remaining, lane) : null;

    public readonly StatusColumn Status;

    public readonly TaskResult?[] Results;

    /// <summary>Why each task did not succeed, or null: made at the first task that did not (most runs have none).</summary>
    public readonly ErrorsColumn Errors;

    private string?[]? _errors;

    /// <summary>What kind of failure ended each task: made at the first task that did not succeed.</summary>
    public readonly FailureKindsColumn FailureKinds;

    private FailureKind[]? _failureKinds;

    /// <summary>Attempts made so far; 0 for a task that never ran (restored, skipped, cancelled before it started).</summary>
    public readonly AttemptsColumn Attempts;

    /// <summary>Clock timestamps (<see cref="TimeProvider.GetTimestamp"/>) of the task's start and end; 0 when it did not run.</summary>
    public readonly StartedColumn Started;

    /// <inheritdoc cref="Started"/>
    public readonly EndedColumn Ended;

    /// <summary>What each failed task's worker wrote before it failed (<see cref="FatalTaskException.Output"/>); made at the first.</summary>
    public string?[]? PartialOutputs;

    /// <summary>Per task with a <c>context</c> limit: the dependency outputs it received cut down, by predecessor, and
    /// what that saved; null for a task that received its dependencies' outputs as they are.</summary>
    public Dictionary<int, Sdk.TaskResult>?[]? ContextInputs;

    public ContextReport?[]? ContextReports;

    /// <summary>How often each task's attempts were sent again because their executor was lost; made at the first.</summary>
    public int[]? Requeues;

    /// <summary>Each task's worker slot, 1-based; kept only when someone watches the run's events.</summary>
    public int[]? Slots;

    /// <summary>Clock timestamps of when each task became ready; kept only when the run records attempts or someone
    /// measures queue waits.</summary>
    public long[]? Ready;

    /// <summary>Each retried task's attempts; kept only when the run records attempts (<see cref="RunOptions.RecordAttempts"/>).
    /// A task's list is made at its first retry: the one attempt of a task that was not retried is its row's start,
    /// end, slot, status and error. Written by the one thread executing the task, like the rest of its row.</summary>
    public List<AttemptMark>?[]? AttemptLogs;

    /// <summary>Each task's cache key; kept only for a run with a cache.</summary>
    public TaskCacheKey?[]? CacheKeys;

    private bool[]? _abandoned;

    /// <summary>Starts the record of a retry (an attempt after the first), when the run keeps attempts.</summary>
    public void BeginRetry(int task, int attempt, long at)
    {
        if (AttemptLogs?[task] is { } log)
        {
            log.Add(new AttemptMark(attempt, at, 0, Slots?[task] ?? 0, TaskRunStatus.Running, null, null));
        }
    }

    /// <summary>Ends an attempt another will follow: the task's list is made now if this was its first.</summary>
    public void EndRetried(int task, long at, TaskRunStatus status, string error, TimeSpan delay)
    {
        if (AttemptLogs is not { } logs)
        {
            return;
        }

        var log = logs[task] ??= [new AttemptMark(1, Started[task], 0, Slots?[task] ?? 0, TaskRunStatus.Running, null, null)];
        log[^1] = log[^1] with { Ended = at, Status = status, Error = error, RetryDelay = delay };
    }

    /// <summary>Ends a retried task's last attempt with the task's end and final status.</summary>
    public void EndLast(int task)
    {
        if (AttemptLogs?[task] is { Count: > 0 } log && log[^1].Ended == 0)
        {
            log[^1] = log[^1] with { Ended = Ended[task], Status = Status[task], Error = Errors[task] };
        }
    }

    /// <summary>The task's attempts as the run recorded them; empty when it never ran or the run kept none.</summary>
    public IEnumerable<AttemptMark> AttemptsOf(int task) =>
        AttemptLogs is null || Attempts[task] == 0 ? []
        : AttemptLogs[task] is { } log ? log
        : [new AttemptMark(1, Started[task], Ended[task], Slots?[task] ?? 0, Status[task], Errors[task], null)];

    /// <summary>Ends a task that never ran.</summary>
    public void End(int task, TaskRunStatus status, FailureKind kind, string? error)
    {
        Status[task] = status;
        SetFailure(task, kind, error);
    }

    /// <summary>Writes why a task did not succeed (its status is written apart).</summary>
    public void SetFailure(int task, FailureKind kind, string? error)
    {
        (Volatile.Read(ref _failureKinds) ?? Interlocked.CompareExchange(ref _failureKinds, new FailureKind[Count], null) ?? _failureKinds!)[task] = kind;
        (Volatile.Read(ref _errors) ?? Interlocked.CompareExchange(ref _errors, new string?[Count], null) ?? _errors!)[task] = error;
    }

    /// <summary>The errors of <see cref="Errors"/>, when any task has one.</summary>
    internal string?[]? ErrorArray => Volatile.Read(ref _errors);

    /// <summary>The kinds of <see cref="FailureKinds"/>, when any task has one.</summary>
    internal FailureKind[]? FailureKindArray => Volatile.Read(ref _failureKinds);

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

/// <summary>The per-task arrays of a run that every run allocates (its rows, results and counts of unfinished
/// predecessors, and the lock-free lane's ready sets, if it had them): what a run gives back to its compiled plan when its
/// result is disposed and its executor is idle, and the plan's next run takes again instead of allocating them (in a
/// plan of 100k tasks, 3.6 MB in the large-object heap per run, which brought a full collection every dozen runs).</summary>
internal sealed record RunArrays(TaskRow[] Rows, TaskResult?[] Results, int[] Remaining, LaneSets? Lane)
{
    /// <summary>The arrays, cleared now: the next run finds every row pending and its ready sets empty, and the plan keeps
    /// no old outputs alive while it waits for one (the counts are copied over whole by the run that takes them).</summary>
    public static RunArrays Cleared(TaskRow[] rows, TaskResult?[] results, int[] remaining, LaneSets? lane)
    {
        Array.Clear(rows);
        Array.Clear(results);
        lane?.Clear();
        return new(rows, results, remaining, lane);
    }
}

/// <summary>One attempt as a run records it, in clock timestamps.</summary>
internal readonly record struct AttemptMark(int Attempt, long Started, long Ended, int Slot, TaskRunStatus Status, string? Error, TimeSpan? RetryDelay);

/// <summary>What a task's run writes on every task, together: its status, attempts, start and end. Two threads running
/// neighbouring tasks then share one cache line per row pair, instead of one in each of four arrays.</summary>
internal struct TaskRow
{
    public long Started;
    public long Ended;
    public TaskRunStatus Status;
    public int Attempts;
}

/// <summary>The status of each task, a field of its <see cref="TaskRow"/>.</summary>
internal readonly struct StatusColumn(TaskRow[] rows)
{
    public ref TaskRunStatus this[int task] => ref rows[task].Status;
}

/// <summary>The attempts of each task, a field of its <see cref="TaskRow"/>.</summary>
internal readonly struct AttemptsColumn(TaskRow[] rows)
{
    public ref int this[int task] => ref rows[task].Attempts;
}

/// <summary>When each task started (a timestamp, 0 if it never did), a field of its <see cref="TaskRow"/>.</summary>
internal readonly struct StartedColumn(TaskRow[] rows)
{
    public ref long this[int task] => ref rows[task].Started;
}

/// <summary>When each task ended (a timestamp, 0 if it never did), a field of its <see cref="TaskRow"/>.</summary>
internal readonly struct EndedColumn(TaskRow[] rows)
{
    public ref long this[int task] => ref rows[task].Ended;
}

/// <summary>Each task's error, or null; read only (written with <see cref="TaskTable.SetFailure"/>).</summary>
internal readonly struct ErrorsColumn(TaskTable table)
{
    public string? this[int task] => table.ErrorArray?[task];
}

/// <summary>Each task's failure kind (<see cref="FailureKind.None"/> until it has one); read only (written with
/// <see cref="TaskTable.SetFailure"/>).</summary>
internal readonly struct FailureKindsColumn(TaskTable table)
{
    public FailureKind this[int task] => table.FailureKindArray is { } kinds ? kinds[task] : default;
}
