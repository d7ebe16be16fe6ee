namespace ParallelFlow.Engine.Plans;

/// <summary>The <c>config.json</c> of parallel task executors (<c>parallelism</c>, <c>timeouts</c>, <c>retry</c>,
/// <c>resources</c>), passed with <c>--config</c>. Each section it gives replaces the plan's section of the same name.</summary>
/// <param name="Parallelism">Replaces the plan's <c>parallelism</c> when given.</param>
/// <param name="Timeouts">Replaces the plan's <c>timeouts</c> when given.</param>
/// <param name="Retry">Replaces the plan's <c>retry</c> when given.</param>
public sealed record ExecutorConfig(ParallelismSettings? Parallelism = null, TimeoutSettings? Timeouts = null, RetrySettings? Retry = null)
{
    /// <summary>Replaces the plan's <c>resources</c> when given.</summary>
    public ResourceSettings? Resources { get; init; }

    /// <summary>Applies this configuration over a plan's settings.</summary>
    /// <param name="plan">The plan.</param>
    /// <returns>The plan with this configuration's sections in place of its own.</returns>
    public PlanDefinition ApplyTo(PlanDefinition plan) => ApplyTo(plan, []);

    internal PlanDefinition ApplyTo(PlanDefinition plan, IEnumerable<PlanError> configWarnings) => new()
    {
        Id = plan.Id,
        Description = plan.Description,
        Parallelism = Parallelism ?? plan.Parallelism,
        Limits = plan.Limits,
        Timeouts = Timeouts ?? plan.Timeouts,
        Resources = Resources ?? plan.Resources,
        Context = plan.Context,
        Retry = Retry ?? plan.Retry,
        OnFailure = plan.OnFailure,
        Budget = plan.Budget,
        Strategy = plan.Strategy,
        Mode = plan.Mode,
        Tasks = plan.Tasks,
        SourceFile = plan.SourceFile,
        Warnings = [.. plan.Warnings, .. configWarnings],
        SourceMap = plan.SourceMap,
    };
}
