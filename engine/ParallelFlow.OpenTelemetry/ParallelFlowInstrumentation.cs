using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using ParallelFlow.Engine;

namespace ParallelFlow.OpenTelemetry;

/// <summary>
/// Adds ParallelFlow's spans and metrics to an OpenTelemetry pipeline.
/// </summary>
/// <example>
/// <code>
/// services.AddOpenTelemetry()
///     .WithTracing(tracing => tracing.AddParallelFlowInstrumentation().AddOtlpExporter())
///     .WithMetrics(metrics => metrics.AddParallelFlowInstrumentation().AddOtlpExporter());
/// </code>
/// </example>
public static class ParallelFlowInstrumentation
{
    /// <summary>Collects the spans of every run in the process: <c>parallelflow.run</c>, its <c>parallelflow.task</c>
    /// spans and one span per attempt (named after the GenAI operation and model for model calls), with retries and
    /// budget waits as span events.</summary>
    /// <param name="builder">The tracer provider's builder.</param>
    /// <returns>The builder.</returns>
    public static TracerProviderBuilder AddParallelFlowInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(ParallelFlowTelemetry.ActivitySourceName);
    }

    /// <summary>Collects the engine's metrics: tasks finished by status and worker type, task duration and queue wait
    /// histograms, running and ready tasks, active runs, tokens used and cost spent.</summary>
    /// <param name="builder">The meter provider's builder.</param>
    /// <returns>The builder.</returns>
    public static MeterProviderBuilder AddParallelFlowInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(ParallelFlowTelemetry.MeterName);
    }
}
