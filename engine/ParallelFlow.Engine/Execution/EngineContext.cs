using Microsoft.Extensions.Logging;
using ParallelFlow.Engine.Diagnostics;

namespace ParallelFlow.Engine.Execution;

/// <summary>What every run of an engine shares: the clock, logging and telemetry.</summary>
internal sealed class EngineContext(TimeProvider timeProvider, ILoggerFactory loggerFactory, TimeSpan gracePeriod, SecretRedactor secrets)
{
    /// <summary>Masks secret values in what runs keep and show.</summary>
    public SecretRedactor Secrets { get; } = secrets;

    public TimeProvider TimeProvider { get; } = timeProvider;

    /// <summary>How long a cancelled worker is waited for (<see cref="EngineOptions.CancellationGracePeriod"/>).</summary>
    public TimeSpan GracePeriod { get; } = gracePeriod;

    public EngineLog Log { get; } = new(loggerFactory.CreateLogger("ParallelFlow.Engine"));

    public ILogger TaskLogger { get; } = loggerFactory.CreateLogger("ParallelFlow.Tasks");
}
