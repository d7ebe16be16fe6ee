namespace ParallelFlow.Engine.Plans;

/// <summary>A plan as written: settings and a graph of tasks. Immutable: the collections it is given are copied (what
/// is already immutable is kept), so nothing the caller holds can change it. Load one with <see cref="PlanLoader"/> or
/// make one with <see cref="PlanBuilder"/>.</summary>
public sealed class PlanDefinition
{
    /// <summary>The plan's id.</summary>
    public required string Id { get; init; }

    /// <summary>What the plan is for.</summary>
    public string Description { get; init; } = string.Empty;

    /// <summary>How many tasks may run at once.</summary>
    public ParallelismSettings Parallelism { get; init; } = new();

    /// <summary>The most tasks of one worker type that may run at once, by worker type.</summary>
    public IReadOnlyDictionary<string, int> Limits { get => _limits; init => _limits = Immutable.Dictionary(value); }

    private readonly IReadOnlyDictionary<string, int> _limits = new Dictionary<string, int>().AsReadOnly();

    /// <summary>Task time limits.</summary>
    public TimeoutSettings Timeouts { get; init; } = new();

    /// <summary>Resource limits: the memory one task may use.</summary>
    public ResourceSettings Resources { get; init; } = new();

    /// <summary>How every task's dependencies' outputs are cut down before it receives them, unless the task says;
    /// none by default.</summary>
    public ContextSettings? Context { get; init; }

    /// <summary>The retry settings of tasks that set none of their own.</summary>
    public RetrySettings Retry { get; init; } = RetrySettings.None;

    /// <summary>What a failure does to the rest of the run.</summary>
    public FailurePolicy OnFailure { get; init; } = FailurePolicy.Continue;

    /// <summary>The values the plan takes per run, by name, in the order written (<c>{{inputs.NAME}}</c> in a task's <c>with</c>).</summary>
    public IReadOnlyDictionary<string, PlanInput> Inputs { get => _inputs; init => _inputs = Immutable.Dictionary(value); }

    private readonly IReadOnlyDictionary<string, PlanInput> _inputs = new Dictionary<string, PlanInput>().AsReadOnly();

    /// <summary>The tasks, in the order written.</summary>
    public required IReadOnlyList<TaskDefinition> Tasks { get => _tasks; init => _tasks = Immutable.List(value); }

    private readonly IReadOnlyList<TaskDefinition> _tasks = [];

    /// <summary>The order in which ready tasks get a worker: a name from <see cref="SchedulingStrategies"/> or one a
    /// plugin registered.</summary>
    public string Strategy { get; init; } = SchedulingStrategies.CriticalPath;

    /// <summary>The run budget, or null for none.</summary>
    public BudgetSettings? Budget { get; init; }

    /// <summary>A plan, or a voting or sectioning request read as a plan of one task.</summary>
    public PlanMode Mode { get; init; } = PlanMode.Dag;

    /// <summary>The file the plan came from, if it came from one.</summary>
    public string? SourceFile { get; init; }

    /// <summary>Warnings found while loading: settings accepted but not acted on.</summary>
    public IReadOnlyList<PlanError> Warnings { get => _warnings; init => _warnings = Immutable.List(value); }

    private readonly IReadOnlyList<PlanError> _warnings = [];

    internal PlanSourceMap SourceMap { get; init; } = PlanSourceMap.Empty;

    private PlanGraph? _graph;

    /// <summary>The tasks as a numbered graph, built once for validation, analysis and compiling alike. A plan is
    /// immutable, so the graph never goes stale; two threads racing to build it build the same one.</summary>
    internal PlanGraph Graph => _graph ??= new PlanGraph(Tasks);

    /// <summary>Whether ids, dependencies, cycles and time limits were checked when the plan was made.</summary>
    internal bool StructureValidated { get; private set; }

    /// <summary>The catalog (a <c>WorkerCatalog</c>, compared by identity only) the workers were checked against when
    /// the plan was made. A catalog only gains registrations, so a plan valid against it stays valid and compiling
    /// against it need not check again. Typed as <see cref="object"/> because the plan model sits below the catalog.</summary>
    internal object? WorkersValidatedBy { get; private set; }

    /// <summary>The plan cut down to some tasks and everything they need: each task named, and every task it depends on
    /// (<c>depends_on</c>, transitively), as a build tool's filter runs a target with its dependencies. An <c>after</c>
    /// ordering on a task left out is dropped. Everything else about the plan stays.</summary>
    /// <param name="taskIds">The tasks to run.</param>
    /// <returns>The smaller plan, in the same task order.</returns>
    /// <exception cref="KeyNotFoundException">The plan has no task with one of the ids.</exception>
    public PlanDefinition Only(IEnumerable<string> taskIds)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        var byId = Tasks.ToDictionary(t => t.Id, StringComparer.Ordinal);
        var kept = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        foreach (var id in taskIds)
        {
            if (!byId.ContainsKey(id))
            {
                var close = Sdk.Suggestions.Closest(id, byId.Keys);
                throw new KeyNotFoundException($"the plan has no task '{DisplayText.Shorten(id)}'{(close is null ? string.Empty : $"; did you mean '{close}'?")}");
            }

            stack.Push(id);
        }

        while (stack.TryPop(out var id))
        {
            if (kept.Add(id))
            {
                foreach (var dependency in byId[id].DependsOn)
                {
                    stack.Push(dependency);
                }
            }
        }

        var plan = Copy([.. Tasks.Where(t => kept.Contains(t.Id)).Select(t => t.After.All(kept.Contains) ? t : t.WithAfter([.. t.After.Where(kept.Contains)]))]);
        plan.WorkersValidatedBy = WorkersValidatedBy;
        return plan;
    }

    /// <summary>The plan with what earlier runs measured (see <c>RunJournal.History</c>): each task with a history of
    /// its own takes it (<see cref="TaskDefinition.Learned"/>), in place of its written estimate; a task with none and no
    /// <c>estimate_seconds</c> takes the median of the learned durations of the plan's other tasks of its worker type.
    /// The critical path, the strategies' order and budgets then plan with measured durations, tokens and cost.</summary>
    /// <param name="history">Learned estimates by task id; ids the plan does not have are ignored.</param>
    /// <returns>The plan with learned estimates; everything else as it was.</returns>
    public PlanDefinition WithHistory(IReadOnlyDictionary<string, LearnedEstimate> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var byWorker = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        foreach (var task in Tasks)
        {
            if (history.TryGetValue(task.Id, out var own))
            {
                (byWorker.TryGetValue(task.Worker, out var list) ? list : byWorker[task.Worker] = []).Add(own.Seconds);
            }
        }

        var tasks = Tasks.Select(task =>
        {
            if (history.TryGetValue(task.Id, out var own))
            {
                return task.WithLearned(own);
            }

            return task.EstimateSeconds is null && byWorker.TryGetValue(task.Worker, out var peers)
                ? task.WithLearned(new LearnedEstimate(Statistics.Median(peers), peers.Count) { FromWorkerType = true })
                : task.Learned is null ? task : task.WithLearned(null);
        }).ToList();
        var plan = Copy(tasks);
        plan.StructureValidated = StructureValidated;
        plan.WorkersValidatedBy = WorkersValidatedBy;
        return plan;
    }

    /// <summary>The plan with other tasks; everything else as it is.</summary>
    private PlanDefinition Copy(IReadOnlyList<TaskDefinition> tasks) => new()
    {
        Id = Id,
        Description = Description,
        Parallelism = Parallelism,
        Limits = Limits,
        Timeouts = Timeouts,
        Resources = Resources,
        Context = Context,
        Retry = Retry,
        OnFailure = OnFailure,
        Inputs = Inputs,
        Tasks = tasks,
        Strategy = Strategy,
        Budget = Budget,
        Mode = Mode,
        SourceFile = SourceFile,
        Warnings = Warnings,
        SourceMap = SourceMap,
    };

    /// <summary>Records a validation that passed; called once, by the code that made the plan, before handing it out.</summary>
    internal void MarkValidated(object? catalog)
    {
        StructureValidated = true;
        WorkersValidatedBy = catalog;
        SourceMap.Compact();
    }
}
