namespace ParallelFlow.Engine;

/// <summary>
/// The names under which the engine traces and measures its runs with <see cref="System.Diagnostics.ActivitySource"/>
/// and <see cref="System.Diagnostics.Metrics.Meter"/>: listen to them with OpenTelemetry
/// (<c>AddParallelFlowInstrumentation()</c> in the ParallelFlow.OpenTelemetry package, or <c>AddSource</c> and
/// <c>AddMeter</c> with these names), or with any <see cref="System.Diagnostics.ActivityListener"/>.
/// </summary>
/// <remarks>
/// <para>Spans: <c>parallelflow.run</c> → <c>parallelflow.task</c> → one span per attempt (<c>parallelflow.attempt</c>,
/// or for a model call <c>{gen_ai.operation.name} {model}</c> with the GenAI conventions' attributes). Retries are
/// <c>retry</c> events on the task's span; budget waits <c>budget_wait</c> events on the run's.</para>
/// <para>Metrics: <c>parallelflow.tasks.finished</c>, <c>parallelflow.task.duration</c>,
/// <c>parallelflow.task.queue_wait</c>, <c>parallelflow.tasks.running</c>, <c>parallelflow.tasks.ready</c>,
/// <c>parallelflow.runs.active</c>, <c>parallelflow.tokens.used</c>, <c>parallelflow.cost.spent</c>.</para>
/// </remarks>
public static class ParallelFlowTelemetry
{
    /// <summary>The name of the engine's activity source.</summary>
    public const string ActivitySourceName = Diagnostics.EngineTelemetry.Name;

    /// <summary>The name of the engine's meter.</summary>
    public const string MeterName = Diagnostics.EngineTelemetry.Name;
}
