using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plugins;
using ParallelFlow.Engine.Workers;
using ParallelFlow.Sdk;

namespace ParallelFlow.Orleans;

/// <summary>What a silo executes with: its plugins and its slots.</summary>
public sealed class ParallelFlowSiloOptions
{
    /// <summary>The silo's <c>plugins.json</c>; only the built-in workers when null.</summary>
    public string? Plugins { get; set; }

    /// <summary>How many tasks the silo runs at once, whatever their worker types; the processor count by default.</summary>
    public int Slots { get; set; } = Environment.ProcessorCount;

    /// <summary>Adds workers made in code to the silo's catalog (after the built-in ones and the plugins).</summary>
    public Action<WorkerCatalog>? ConfigureWorkers { get; set; }
}

/// <summary>The silo's side: its worker catalog, its slots, the attempts running here and those that ended recently.</summary>
internal sealed partial class SiloWorkers : IDisposable
{
    private static readonly ActivitySource Source = new(ParallelFlowTelemetry.ActivitySourceName);
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<Guid, string> _running = new();
    private readonly ILocalSiloDetails _silo;
    private readonly ILogger _logger;
    private readonly int _slotCount;
    private readonly string? _plugins;
    private int _inUse;
    private long _done;
    private long _failed;

    public SiloWorkers(IOptions<ParallelFlowSiloOptions> options, ILocalSiloDetails silo, ILoggerFactory loggerFactory)
    {
        var settings = options.Value;
        _silo = silo;
        _logger = loggerFactory.CreateLogger("ParallelFlow.Silo");
        _slotCount = Math.Max(1, settings.Slots);
        _slots = new SemaphoreSlim(_slotCount, _slotCount);
        Catalog = BuiltInWorkers.CreateCatalog();
        if (settings.Plugins is { } plugins)
        {
            _plugins = Path.GetFullPath(plugins);
            PluginHost.LoadInto(Catalog, _plugins, loggerFactory);
        }

        settings.ConfigureWorkers?.Invoke(Catalog);
    }

    public WorkerCatalog Catalog { get; }

    public void Dispose() => _slots.Dispose();

    public string Name => _silo.SiloAddress.ToParsableString();

    public async Task<WireOutcome> ExecuteAsync(WireRequest wire, IAttemptProgress? observer, CancellationToken cancellationToken)
    {
        if (!Catalog.TryGetWorker(wire.WorkerName, out var worker))
        {
            return Failed(WireFailure.Fatal, null, $"silo {_silo.SiloAddress} has no worker '{wire.WorkerName}' (its workers: {string.Join(", ", Catalog.WorkerNames)})");
        }

        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return Failed(WireFailure.Cancelled, null, "cancelled before it started");
        }

        Interlocked.Increment(ref _inUse);
        _running[wire.AttemptId] = wire.TaskId;
        // A child of the coordinator's attempt span, whose context the request carries.
        using var span = wire.TraceParent is { } parent && ActivityContext.TryParse(parent, wire.TraceState, isRemote: true, out var context)
            ? Source.StartActivity("parallelflow.silo.attempt", ActivityKind.Server, context)
            : Source.StartActivity("parallelflow.silo.attempt", ActivityKind.Server);
        span?.SetTag("parallelflow.run.id", wire.RunId);
        span?.SetTag("parallelflow.task.id", wire.TaskId);
        span?.SetTag("parallelflow.worker", wire.WorkerName);
        span?.SetTag("parallelflow.attempt", wire.Attempt);
        span?.SetTag("parallelflow.silo", Name);
        WireOutcome outcome;
        try
        {
            IProgress<string> progress = observer is null ? NoProgress.Instance : new ForwardedProgress(observer, wire.AttemptId, _logger);
            var request = wire.ToRequest(worker, progress, _logger, cancellationToken);
            var result = await worker.ExecuteAsync(request, cancellationToken).ConfigureAwait(false);
            outcome = new WireOutcome(WireResult.From(result ?? TaskResult.Empty), WireFailure.None, null, null, Name);
            Interlocked.Increment(ref _done);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            outcome = Failed(WireFailure.Cancelled, null, "cancelled");
        }
#pragma warning disable CA1031 // Whatever the worker throws is its attempt's outcome, sent back to the coordinator.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // Sorted by the engine's own rules, so a failure is fatal or transient on a silo exactly as in one process.
            var fatal = ExceptionClassifier.Classify(ex, cancellationToken) == FailureKind.Fatal;
            outcome = Failed(fatal ? WireFailure.Fatal : WireFailure.Transient, ex.GetType().Name, ex.Message);
            Interlocked.Increment(ref _failed);
            span?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
        }
        finally
        {
            _running.TryRemove(wire.AttemptId, out _);
            Interlocked.Decrement(ref _inUse);
            _slots.Release();
        }

        return outcome;
    }

    public SiloDescription Describe() => new(
        Name,
        System.Net.Dns.GetHostName(),
        [.. Catalog.WorkerNames],
        _slotCount,
        Volatile.Read(ref _inUse),
        Interlocked.Read(ref _done),
        Interlocked.Read(ref _failed),
        [.. _running.Keys],
        _plugins,
        Environment.ProcessId);

    private WireOutcome Failed(WireFailure failure, string? type, string message) => new(null, failure, type, message, Name);

    /// <summary>Sends a worker's progress lines to the coordinator, at most ten a second: a line that comes sooner than
    /// 100 ms after the last one sent is dropped, as the live view shows only a task's current line anyway.</summary>
    private sealed class ForwardedProgress(IAttemptProgress observer, Guid attemptId, ILogger logger) : IProgress<string>
    {
        private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
        private long _last = long.MinValue;

        public void Report(string value)
        {
            var now = Stopwatch.GetTimestamp();
            var last = Volatile.Read(ref _last);
            if (last != long.MinValue && Stopwatch.GetElapsedTime(last, now) < Interval || Interlocked.CompareExchange(ref _last, now, last) != last)
            {
                return;
            }

            try
            {
                _ = observer.Report(attemptId, value);
            }
#pragma warning disable CA1031 // A coordinator that cannot be told a line of output must not fail the attempt.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogProgressLost(logger, attemptId, ex.Message);
            }
        }
    }

    [LoggerMessage(EventId = 2004, Level = LogLevel.Debug, Message = "A progress line of attempt {AttemptId} did not reach its coordinator: {Reason}")]
    private static partial void LogProgressLost(ILogger logger, Guid attemptId, string reason);

    private sealed class NoProgress : IProgress<string>
    {
        public static readonly NoProgress Instance = new();

        public void Report(string value)
        {
        }
    }
}
