using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Plans;

/// <summary>One task of a plan, as written. Immutable.</summary>
public sealed class TaskDefinition
{
    internal static readonly JsonElement EmptyParameters = JsonDocument.Parse("{}").RootElement;

    /// <summary>The task's id, unique within the plan.</summary>
    public required string Id { get; init; }

    /// <summary>The worker type that does the task.</summary>
    public required string Worker { get; init; }

    /// <summary>What the task is for.</summary>
    public string Description { get; init; } = string.Empty;

    /// <summary>The worker's parameters (<c>with</c>).</summary>
    public JsonElement With { get; init; } = EmptyParameters;

    /// <summary>Hard dependencies: the task starts only after they succeed, and receives their outputs.</summary>
    public IReadOnlyList<string> DependsOn { get => _dependsOn; init => _dependsOn = Immutable.List(value); }

    private readonly IReadOnlyList<string> _dependsOn = [];

    /// <summary>Soft dependencies: the task starts only after they finish, whatever their status.</summary>
    public IReadOnlyList<string> After { get => _after; init => _after = Immutable.List(value); }

    private readonly IReadOnlyList<string> _after = [];

    /// <summary>Which ready task goes first.</summary>
    public TaskPriority Priority { get; init; } = TaskPriority.Normal;

    /// <summary>Each attempt's time limit in seconds; the plan's default when absent.</summary>
    public double? TimeoutSeconds { get; init; }

    /// <summary>The task's own retry settings; the plan's when absent.</summary>
    public RetrySettings? Retry { get; init; }

    /// <summary>The expected duration in seconds, for the critical path and scheduling.</summary>
    /// <value>1 when absent.</value>
    public double? EstimateSeconds { get; init; }

    /// <summary>Whether a run with a cache may reuse an earlier result for this task; null leaves it to the worker (<see cref="ParallelFlowWorker.IsDeterministic"/>).</summary>
    public bool? Cache { get; init; }

    /// <summary>How this task's dependencies' outputs are cut down before it receives them; the plan's when absent.</summary>
    public ContextSettings? Context { get; init; }

    /// <summary>Expected tokens, for run budgets (a worker's own estimate is used when this is absent).</summary>
    public long? EstimateTokens { get; init; }

    /// <summary>Expected cost, for run budgets.</summary>
    public decimal? EstimateCost { get; init; }

    /// <summary>What earlier runs of the plan measured of this task (<see cref="PlanDefinition.WithHistory"/>): when
    /// present, its duration stands for <see cref="EstimateSeconds"/> in the critical path and its tokens and cost
    /// for the estimates in budgets.</summary>
    /// <value>None: the plan's estimates (and the worker's) are used.</value>
    public LearnedEstimate? Learned { get; init; }

    /// <summary>The in-process worker of a task made with <see cref="PlanBuilder"/>; it takes precedence over <see cref="Worker"/>.</summary>
    internal ParallelFlowWorker? InlineWorker { get; init; }

    /// <summary>A copy with other <c>after</c> orderings.</summary>
    internal TaskDefinition WithAfter(IReadOnlyList<string> after) => Copy(after, Learned);

    /// <summary>A copy with a learned estimate.</summary>
    internal TaskDefinition WithLearned(LearnedEstimate? learned) => Copy(After, learned);

    private TaskDefinition Copy(IReadOnlyList<string> after, LearnedEstimate? learned) => new()
    {
        Id = Id,
        Worker = Worker,
        Description = Description,
        With = With,
        DependsOn = DependsOn,
        After = after,
        Priority = Priority,
        TimeoutSeconds = TimeoutSeconds,
        Retry = Retry,
        EstimateSeconds = EstimateSeconds,
        Cache = Cache,
        Context = Context,
        EstimateTokens = EstimateTokens,
        EstimateCost = EstimateCost,
        Learned = learned,
        InlineWorker = InlineWorker,
    };

    /// <summary>The duration the scheduler plans with: learned, else written, else 1 s.</summary>
    internal double Estimate => Learned?.Seconds ?? EstimateSeconds ?? 1;
}
