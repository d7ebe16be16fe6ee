using Microsoft.Extensions.Logging;
using ParallelFlow.Engine.Diagnostics;

namespace ParallelFlow.Engine.Execution;

/// <summary>What every run of an engine shares: the clock, logging and telemetry.</summary>
internal sealed class EngineContext(TimeProvider timeProvider, ILoggerFactory loggerFactory)
{
    public TimeProvider TimeProvider { get; } = timeProvider;

    public EngineLog Log { get; } = new(loggerFactory.CreateLogger("ParallelFlow.Engine"));

    public ILogger TaskLogger { get; } = loggerFactory.CreateLogger("ParallelFlow.Tasks");
}
