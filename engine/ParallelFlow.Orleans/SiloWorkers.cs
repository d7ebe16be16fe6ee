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

    /// <summary>The most tasks of one worker type the silo runs at once, within <see cref="Slots"/> (<c>"llm": 2</c>:
    /// two model calls at a time, whatever else runs). A type not named here may take every slot.</summary>
    public Dictionary<string, int> WorkerSlots { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Adds workers made in code to the silo's catalog (after the built-in ones and the plugins).</summary>
    public Action<WorkerCatalog>? ConfigureWorkers { get; set; }

    /// <summary>How long a coordinator may go without probing this silo before the attempts it sent here are cancelled
    /// (it died, or lost the network): 10 s by default, ten of a coordinator's probes. Its attempts are sent again
    /// when its run resumes, so without this they would run twice.</summary>
    public TimeSpan OrphanTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>The silo's side: its worker catalog, its slots, the attempts running here and the leases of the
/// coordinators that sent them.</summary>
internal sealed partial class SiloWorkers : IDisposable
{
    private static readonly ActivitySource Source = new(ParallelFlowTelemetry.ActivitySourceName);
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<Guid, string> _running = new();
    private readonly ConcurrentDictionary<Guid, (Guid Coordinator, string TaskId, CancellationTokenSource Cancel)> _attempts = new();
    private readonly ConcurrentDictionary<Guid, long> _heard = new();
    private readonly TimeSpan _orphanTimeout;
    private readonly ITimer _orphans;
    private readonly Dictionary<string, (int Slots, SemaphoreSlim Gate)> _workerSlots;
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
        _workerSlots = settings.WorkerSlots.ToDictionary(
            p => p.Key, p => (Math.Clamp(p.Value, 1, _slotCount), new SemaphoreSlim(Math.Clamp(p.Value, 1, _slotCount))), StringComparer.Ordinal);
        _orphanTimeout = settings.OrphanTimeout;
        var check = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond * 100, _orphanTimeout.Ticks / 4));
        _orphans = TimeProvider.System.CreateTimer(static state => ((SiloWorkers)state!).CancelOrphans(), this, check, check);
    }

    /// <summary>Cancels the attempts of coordinators that have not been heard from for <see cref="ParallelFlowSiloOptions.OrphanTimeout"/>.</summary>
    private void CancelOrphans()
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var (attemptId, attempt) in _attempts)
        {
            if (_heard.TryGetValue(attempt.Coordinator, out var heard) && Stopwatch.GetElapsedTime(heard, now) > _orphanTimeout && !attempt.Cancel.IsCancellationRequested)
            {
                LogOrphaned(_logger, attempt.TaskId, attempt.Coordinator, _orphanTimeout.TotalSeconds);
                try
                {
                    attempt.Cancel.Cancel();
                }
#pragma warning disable CA1031 // On a timer: the attempt ended meanwhile (its source is disposed), or a worker's cancel callback threw; neither may take the silo down.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    LogOrphanCancelFailed(_logger, attempt.TaskId, ex.Message);
                }
            }
        }

        // Coordinators that sent nothing for a long while are forgotten.
        foreach (var (coordinator, heard) in _heard)
        {
            if (Stopwatch.GetElapsedTime(heard, now) > 10 * _orphanTimeout && !_attempts.Values.Any(a => a.Coordinator == coordinator))
            {
                // Only as it was read: a coordinator heard from since stays.
                _heard.TryRemove(new KeyValuePair<Guid, long>(coordinator, heard));
            }
        }
    }

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Task {TaskId}: its coordinator {Coordinator} has not been heard from for {Seconds} s; its attempt here is cancelled")]
    private static partial void LogOrphaned(ILogger logger, string taskId, Guid coordinator, double seconds);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Task {TaskId}: cancelling its orphaned attempt failed: {Reason}")]
    private static partial void LogOrphanCancelFailed(ILogger logger, string taskId, string reason);

    public WorkerCatalog Catalog { get; }

    public void Dispose()
    {
        _orphans.Dispose();
        _slots.Dispose();
        foreach (var (_, gate) in _workerSlots.Values)
        {
            gate.Dispose();
        }
    }

    public string Name => _silo.SiloAddress.ToParsableString();

    public async Task<WireOutcome> ExecuteAsync(WireRequest wire, IAttemptProgress? observer, CancellationToken callToken)
    {
        // The call's token (the run's cancel and timeout) or the coordinator's lapsed lease ends the attempt.
        _heard[wire.Coordinator] = Stopwatch.GetTimestamp();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(callToken);
        var cancellationToken = cancel.Token;
        _attempts[wire.AttemptId] = (wire.Coordinator, wire.TaskId, cancel);
        try
        {
            return await RunAttemptAsync(wire, observer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _attempts.TryRemove(wire.AttemptId, out _);
        }
    }

    private async Task<WireOutcome> RunAttemptAsync(WireRequest wire, IAttemptProgress? observer, CancellationToken cancellationToken)
    {
        if (!Catalog.TryGetWorker(wire.WorkerName, out var worker))
        {
            return Failed(WireFailure.Fatal, null, $"silo {_silo.SiloAddress} has no worker '{wire.WorkerName}' (its workers: {string.Join(", ", Catalog.WorkerNames)})");
        }

        // The worker type's own slots first, so that a wait for one never holds a slot another type could use.
        var typeGate = _workerSlots.TryGetValue(wire.WorkerName, out var typeSlots) ? typeSlots.Gate : null;
        try
        {
            if (typeGate is not null)
            {
                await typeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            try
            {
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                typeGate?.Release();
                throw;
            }
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
            await using var forwarded = observer is null ? null : new ForwardedProgress(observer, wire.AttemptId, _logger);
            var progress = (IProgress<string>?)forwarded ?? NoProgress.Instance;
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
            var failure = ExceptionClassifier.Classify(ex, cancellationToken) switch
            {
                FailureKind.Fatal => WireFailure.Fatal,
                FailureKind.Memory => WireFailure.Memory,
                _ => WireFailure.Transient,
            };
            outcome = Failed(failure, ex.GetType().Name, ex.Message);
            Interlocked.Increment(ref _failed);
            span?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
        }
        finally
        {
            _running.TryRemove(wire.AttemptId, out _);
            Interlocked.Decrement(ref _inUse);
            try
            {
                _slots.Release();
            }
            finally
            {
                typeGate?.Release();
            }
        }

        return outcome;
    }

    public SiloDescription Describe(Guid coordinator)
    {
        _heard[coordinator] = Stopwatch.GetTimestamp();
        return Describe();
    }

    private SiloDescription Describe() => new(
        Name,
        System.Net.Dns.GetHostName(),
        [.. Catalog.WorkerNames],
        _slotCount,
        Volatile.Read(ref _inUse),
        Interlocked.Read(ref _done),
        Interlocked.Read(ref _failed),
        [.. _running.Keys],
        _plugins,
        Environment.ProcessId,
        _workerSlots.ToDictionary(p => p.Key, p => p.Value.Slots, StringComparer.Ordinal));

    private WireOutcome Failed(WireFailure failure, string? type, string message) => new(null, failure, type, message, Name);

    /// <summary>Sends a worker's progress lines to the coordinator, at most ten a second: a line that comes sooner than
    /// 100 ms after the last one sent waits for the rest of those 100 ms, and a newer line takes its place (the live
    /// view shows a task's current line). The line still waiting when the attempt ends is sent, and awaited, before its
    /// outcome.</summary>
    private sealed class ForwardedProgress(IAttemptProgress observer, Guid attemptId, ILogger logger) : IProgress<string>, IAsyncDisposable
    {
        private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
        private readonly Lock _gate = new();
        private long _sentAt;
        private long _number;
        private string? _waiting;
        private ITimer? _timer;

        public void Report(string value)
        {
            lock (_gate)
            {
                var since = _sentAt == 0 ? Interval : Stopwatch.GetElapsedTime(_sentAt);
                if (since >= Interval && _timer is null)
                {
                    Send(value);
                    return;
                }

                _waiting = value;
                _timer ??= TimeProvider.System.CreateTimer(static state => ((ForwardedProgress)state!).Flush(), this, Interval - since, Timeout.InfiniteTimeSpan);
            }
        }

        /// <summary>Sends the line that waits, if any.</summary>
        public void Flush()
        {
            lock (_gate)
            {
                _timer?.Dispose();
                _timer = null;
                if (_waiting is { } line)
                {
                    _waiting = null;
                    Send(line);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            string? last;
            lock (_gate)
            {
                _timer?.Dispose();
                _timer = null;
                last = _waiting;
                _waiting = null;
            }

            if (last is not null)
            {
                try
                {
                    await observer.ReportLast(attemptId, ++_number, last).WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // The outcome matters more than a line of output: it goes back whatever became of the line.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    LogProgressLost(logger, attemptId, ex.Message);
                }
            }
        }

        private void Send(string line)
        {
            _sentAt = Stopwatch.GetTimestamp();
            try
            {
                _ = observer.Report(attemptId, ++_number, line);
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
