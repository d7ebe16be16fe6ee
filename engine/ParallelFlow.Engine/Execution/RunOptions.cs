using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>Settings of one run of a compiled plan.</summary>
public sealed record RunOptions
{
    /// <summary>How many tasks may run at once; overrides the plan's <c>parallelism</c>.</summary>
    /// <value>The plan's default_workers, else max_workers, else the processor count.</value>
    public int? Workers { get; init; }

    /// <summary>Whether the run records events for <see cref="FlowRun.ReadEventsAsync"/>.</summary>
    /// <value><see langword="false"/>: a run nobody watches makes no events.</value>
    public bool StreamEvents { get; init; }

    /// <summary>Whether the run keeps each attempt's times, worker slot and error, and when each task became ready
    /// (<see cref="TaskRunResult.AttemptLog"/>, <see cref="TaskRunResult.ReadyAt"/>): what a timeline, a Chrome trace or
    /// the HTML report draws.</summary>
    /// <value><see langword="false"/>: a run keeps its tasks' first start and last end only.</value>
    public bool RecordAttempts { get; init; }

    /// <summary>The values of the plan's inputs for this run, by name (<c>{{inputs.NAME}}</c> in its tasks); inputs
    /// left out take their defaults. Build values with <see cref="System.Text.Json.JsonSerializer.SerializeToElement{TValue}(TValue, System.Text.Json.JsonSerializerOptions?)"/>,
    /// or, in a trimmed or natively compiled host, with <c>JsonElement.Parse</c> or a generated <c>JsonTypeInfo</c>.</summary>
    /// <value>None: every input takes its default, and a required one is an error.</value>
    public IReadOnlyDictionary<string, System.Text.Json.JsonElement>? Inputs { get; init; }

    /// <summary>Limits shared with every other run of the pool (a host-wide worker count and per-worker-type limits,
    /// shared fairly between runs); the run's own limits still apply inside. A full pool queues the run.</summary>
    /// <value>None: the run's limits are its own.</value>
    public ParallelFlowPool? Pool { get; init; }

    /// <summary>The run's id.</summary>
    /// <value>A new sortable id.</value>
    public string? RunId { get; init; }

    /// <summary>Where attempts and finished tasks are recorded as they happen; none by default.</summary>
    public IRunJournal? Journal { get; init; }

    /// <summary>
    /// Outputs of tasks that already succeeded (a resumed run): these tasks are not executed again; they end
    /// <see cref="TaskRunStatus.Succeeded"/> at once with these outputs, and their dependents start from there.
    /// Ids the plan does not have are ignored.
    /// </summary>
    public IReadOnlyDictionary<string, TaskResult>? Restored { get; init; }

    /// <summary>Where results are reused from and stored; none by default. Used by tasks with <c>cache: true</c>, and by tasks of deterministic workers unless <c>cache: false</c>.</summary>
    public ITaskCache? Cache { get; init; }

    /// <summary>How old a cached result may be to stand in for executing; no limit by default.</summary>
    public TimeSpan? CacheTimeToLive { get; init; }

    /// <summary>A budget for this run, in place of the plan's.</summary>
    public Plans.BudgetSettings? Budget { get; init; }

    /// <summary>The scheduling strategy for this run, in place of the plan's: a name from
    /// <see cref="Plans.SchedulingStrategies"/> or one a plugin registered in the engine's catalog.</summary>
    public string? Strategy { get; init; }

    /// <summary>Where the run's tasks execute; in this process (<see cref="InProcessExecutor"/>) unless set.</summary>
    internal TaskExecutorFactory? Executor { get; init; }

    /// <summary>Whether the run's pool grows and shrinks with the load (<c>parallelism.adaptive</c>), in place of the
    /// plan's setting.</summary>
    /// <value>The plan's.</value>
    public bool? Adaptive { get; init; }

    /// <summary>Where an adaptive pool reads the machine's load; the machine's own by default (tests give a fake).</summary>
    internal ILoadSource? LoadSource { get; init; }

    /// <summary>The run reaches no span, metric or gauge (the engine's warm-up, <see cref="EngineWarmUp"/>).</summary>
    internal bool Unmeasured { get; init; }

    /// <summary>Sends each attempt to be executed elsewhere (the silos of a cluster) instead of by this process's
    /// workers; the scheduling, limits, timeouts, retries and cache stay in this run. Null: in this process.</summary>
    public ITaskDispatcher? Dispatcher { get; init; }
}
