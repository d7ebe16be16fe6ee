using Microsoft.Extensions.Logging;
using ParallelFlow.Engine.Workers;

namespace ParallelFlow.Engine;

/// <summary>Settings of a <see cref="ParallelFlowEngine"/>.</summary>
public sealed class EngineOptions
{
    /// <summary>The workers, scorers and mergers plans may use.</summary>
    /// <value>The built-in workers (<see cref="BuiltInWorkers.CreateCatalog"/>).</value>
    public WorkerCatalog? Catalog { get; init; }

    /// <summary>The clock for timeouts, retry delays and timings; tests pass a fake one.</summary>
    /// <value><see cref="TimeProvider.System"/>.</value>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>Where the engine and tasks log.</summary>
    /// <value>Nowhere.</value>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>How long a cancelled or timed-out task's worker is given to return before the engine stops waiting for
    /// it. A run does not complete while a worker it cancelled is still within this period, so nothing it started (a
    /// process tree, say) outlives the run; a worker still running after it is abandoned, and its task says so.</summary>
    /// <value>5 seconds. Zero abandons workers at once.</value>
    public TimeSpan CancellationGracePeriod { get; init; } = Workers.CancellationGrace.Default;
}
