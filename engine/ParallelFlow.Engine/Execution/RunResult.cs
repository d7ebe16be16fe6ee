using ParallelFlow.Engine.Analysis;

namespace ParallelFlow.Engine.Execution;

/// <summary>How a run ended: every task's outcome and the run's timing.</summary>
public sealed class RunResult : IDisposable
{
    private Action? _onDispose;

    /// <summary>What disposing gives back (the run's per-task arrays, to its compiled plan); null for nothing.</summary>
    internal Action? OnDispose { init => _onDispose = value; }

    /// <summary>Gives the run's per-task arrays back to its compiled plan, whose next run takes them instead of
    /// allocating its own (for a plan of 100k tasks, 3.6 MB a run, in the large-object heap). Optional: a result that
    /// is not disposed is collected as usual.</summary>
    /// <remarks>
    /// <para>Read what you need first. Unless <see cref="Tasks"/> was enumerated or indexed before (the
    /// <see cref="TaskRunResult"/>s already read stay valid), reading it throws <see cref="ObjectDisposedException"/>
    /// afterwards, and so does everything made from it: the indexer,
    /// <see cref="Count"/>, <see cref="TotalTaskTime"/>, <see cref="Speedup"/>, <see cref="WorkerUtilization"/>,
    /// <see cref="LowerBoundSeconds"/> and <see cref="Efficiency"/>; so does <see cref="ObservedCriticalPath"/> unless it
    /// was computed before. The run's own values (<see cref="Status"/>, <see cref="Elapsed"/>, <see cref="Workers"/>, …)
    /// stay.</para>
    /// <para>Only a run of <see cref="CompiledPlan.RunAsync"/> or of a plan's block
    /// (<see cref="CompiledPlan.AsBlock(PlanBlockOptions?)"/>) on this process's executor, without a dispatcher (in a
    /// shared pool or not), gives its arrays back; for any other result (<see cref="FlowRun.Completion"/>) this does
    /// nothing. Disposing helps only a plan that runs again: a plan compiled for one run gains
    /// nothing.</para>
    /// </remarks>
    public void Dispose() => Interlocked.Exchange(ref _onDispose, null)?.Invoke();

    /// <summary>The run's id.</summary>
    public required string RunId { get; init; }

    /// <summary>The plan's id.</summary>
    public required string PlanId { get; init; }

    /// <summary>The budget's allowances and spend, when the run had a budget.</summary>
    public BudgetReport? Budget { get; init; }

    /// <summary>The scheduling strategy the run used, and what happened to it.</summary>
    public StrategyReport Strategy { get; init; } = new(Plans.SchedulingStrategies.CriticalPath, 0, null);

    /// <summary>What the run's pool did, when it could change (<c>parallelism.adaptive</c>, or a memory limit that holds
    /// back new tasks); null for a fixed pool.</summary>
    public PoolReport? Pool { get; init; }

    /// <summary>Whether the run was of a plan, or of a voting or sectioning request.</summary>
    public Plans.PlanMode Mode { get; init; } = Plans.PlanMode.Dag;

    /// <summary>How the run ended.</summary>
    public required RunStatus Status { get; init; }

    /// <summary>The values the plan's inputs had in this run (supplied, else defaults), by name; empty when it takes none.</summary>
    public IReadOnlyDictionary<string, System.Text.Json.JsonElement> Inputs { get; init; } = new Dictionary<string, System.Text.Json.JsonElement>();

    /// <summary>Every task's outcome, in plan order. Made on first access.</summary>
    public required IReadOnlyList<TaskRunResult> Tasks { get; init; }

    /// <summary>When the run started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>Wall-clock time from start to end.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>The worker count the run was given (capped at the task count).</summary>
    public required int Workers { get; init; }

    /// <summary>The most tasks that ran at once.</summary>
    public required int PeakConcurrency { get; init; }

    /// <summary>The plan's shape and estimates.</summary>
    public required PlanAnalysis Analysis { get; init; }

    private Lazy<(IReadOnlyList<string> Tasks, double Seconds)>? _observedCriticalPath;

    /// <summary>The longest chain of dependent tasks by measured duration, with its length in seconds.</summary>
    /// <remarks>Computed on first access.</remarks>
    public (IReadOnlyList<string> Tasks, double Seconds) ObservedCriticalPath => _observedCriticalPath?.Value ?? ([], 0);

    internal Func<(IReadOnlyList<string> Tasks, double Seconds)> ObservedCriticalPathSource
    {
        init => _observedCriticalPath = new(value, LazyThreadSafetyMode.PublicationOnly);
    }

    /// <summary>The sum of the tasks' measured durations.</summary>
    public TimeSpan TotalTaskTime => TimeSpan.FromTicks(Tasks.Sum(t => t.Duration.Ticks));

    /// <summary>Total task time over wall time: how many tasks' worth of work ran at once on average.</summary>
    public double Speedup => Elapsed > TimeSpan.Zero ? TotalTaskTime / Elapsed : 0;

    /// <summary>The share of worker time spent on tasks: total task time / (workers × wall time).</summary>
    public double WorkerUtilization => Elapsed > TimeSpan.Zero && Workers > 0 ? TotalTaskTime / (Elapsed * Workers) : 0;

    /// <summary>The least time any schedule could have needed with the measured durations on <see cref="Workers"/>
    /// workers: max(observed critical path, total task time / workers), in seconds.</summary>
    public double LowerBoundSeconds => Math.Max(ObservedCriticalPath.Seconds, TotalTaskTime.TotalSeconds / Math.Max(1, Workers));

    /// <summary>The lower bound over the wall time: 1 is a perfect schedule.</summary>
    public double Efficiency => Elapsed > TimeSpan.Zero ? Math.Min(1, LowerBoundSeconds / Elapsed.TotalSeconds) : 1;

    /// <summary>One task's result, by id.</summary>
    /// <param name="taskId">The task's id.</param>
    /// <exception cref="KeyNotFoundException">The plan has no such task.</exception>
    public TaskRunResult this[string taskId] =>
        Tasks.FirstOrDefault(t => t.TaskId == taskId) ?? throw new KeyNotFoundException($"the run has no task '{taskId}'");

    /// <summary>The number of tasks that ended in a status.</summary>
    /// <param name="status">The status.</param>
    /// <returns>The count.</returns>
    public int Count(TaskRunStatus status) => Tasks.Count(t => t.Status == status);
}
