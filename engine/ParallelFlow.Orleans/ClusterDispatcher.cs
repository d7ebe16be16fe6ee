using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Sdk;

namespace ParallelFlow.Orleans;

/// <summary>How a coordinator dispatches to the cluster.</summary>
public sealed class ClusterDispatchOptions
{
    /// <summary>How long a task waits for a silo that provides its worker type (one that left, or has not joined yet)
    /// before it fails saying so. Silos that provide it but are busy are waited for as long as it takes, as a task waits
    /// for a slot in one process.</summary>
    public TimeSpan PlacementTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the coordinator asks each silo how it is (and learns of silos that joined).</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a silo has to answer a probe.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Probes a silo may miss in a row before the coordinator counts it lost and sends its attempts elsewhere.</summary>
    public int MissedProbes { get; set; } = 3;

    /// <summary>How often one attempt may be sent again after losing its silo before it fails.</summary>
    public int MaxRequeues { get; set; } = 5;
}

/// <summary>A silo as the coordinator sees it.</summary>
/// <param name="Name">Its address (<c>IP:PORT@GENERATION</c>).</param>
/// <param name="Host">Its machine's name.</param>
/// <param name="ProcessId">Its process id on that machine.</param>
/// <param name="Workers">The worker types it provides.</param>
/// <param name="Slots">How many tasks it runs at once.</param>
/// <param name="InUse">Its slots in use, by every coordinator.</param>
/// <param name="Done">Attempts it completed since it started.</param>
/// <param name="Failed">Attempts that failed on it.</param>
/// <param name="Plugins">Its plugins.json.</param>
public sealed record ClusterSilo(string Name, string Host, int ProcessId, IReadOnlyList<string> Workers, int Slots, int InUse, long Done, long Failed, string? Plugins)
{
    /// <summary>The most tasks of a worker type the silo runs at once, for the types it limits.</summary>
    public IReadOnlyDictionary<string, int> WorkerSlots { get; init; } = new Dictionary<string, int>();
}

/// <summary>
/// Sends a run's attempts to the silos of an Orleans cluster (<see cref="ITaskDispatcher"/>): to a silo that provides
/// the task's worker type and has a free slot (the least loaded), waiting for one as long as some silo provides the
/// type, and up to <see cref="ClusterDispatchOptions.PlacementTimeout"/> while none does. It probes every silo each
/// <see cref="ClusterDispatchOptions.ProbeInterval"/>: a silo that leaves the membership, or misses
/// <see cref="ClusterDispatchOptions.MissedProbes"/> probes, or whose call fails in transit, is lost, and the attempts
/// it was running are sent to another silo (reported as requeued, not counted as retries).
/// </summary>
public sealed partial class ClusterDispatcher : ITaskDispatcher, IAsyncDisposable
{
    private readonly IClusterClient _client;
    private readonly ClusterDispatchOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SiloState> _silos = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private int _disposed;
    private readonly ProgressSink _progress = new();
    private readonly Guid _id = Guid.NewGuid();
    private IAttemptProgress? _progressReference;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _watch;

    /// <summary>Makes a dispatcher over a connected cluster client; <see cref="StartAsync"/> before the first run.</summary>
    /// <param name="client">A client of the cluster.</param>
    /// <param name="options">Timeouts and probes; the defaults when null.</param>
    /// <param name="loggerFactory">Where lost silos and requeued attempts are logged.</param>
    public ClusterDispatcher(IClusterClient client, ClusterDispatchOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _client = client;
        _options = options ?? new ClusterDispatchOptions();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("ParallelFlow.Cluster");
    }

    /// <summary>The silos in the cluster now, sorted by name.</summary>
    public IReadOnlyList<ClusterSilo> Silos
    {
        get
        {
            lock (_gate)
            {
                return [.. _silos.Values.Where(s => s.Alive && s.Description is not null).OrderBy(s => s.Name, StringComparer.Ordinal).Select(s => s.Snapshot())];
            }
        }
    }

    /// <summary>The slots of every silo in the cluster now.</summary>
    public int TotalSlots => Silos.Sum(s => s.Slots);

    /// <summary>Learns the cluster's silos, waiting up to <paramref name="waitForSilos"/> for at least one, and starts
    /// probing them.</summary>
    /// <param name="waitForSilos">How long to wait for a first silo.</param>
    /// <param name="cancellationToken">Stops the wait.</param>
    /// <returns>When the dispatcher knows the silos it could find.</returns>
    public async Task StartAsync(TimeSpan waitForSilos, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + waitForSilos;
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        while (Silos.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
        }

        _watch ??= Task.Run(WatchAsync, CancellationToken.None);
    }

    /// <inheritdoc/>
    public bool Provides(string workerType)
    {
        lock (_gate)
        {
            return _silos.Values.Any(s => s.Alive && s.Workers.Contains(workerType));
        }
    }

    /// <inheritdoc/>
    public async ValueTask<TaskResult> DispatchAsync(TaskDispatch dispatch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dispatch);
        var wire = WireRequest.From(dispatch.RunId, dispatch.Request, Guid.NewGuid()) with { Coordinator = _id };
        for (var requeues = 0; ; requeues++)
        {
            var silo = await AcquireAsync(wire.WorkerName, cancellationToken).ConfigureAwait(false);
            // The call carries the run's token, so cancelling the run or a timeout reaches the silo; a lost silo only
            // stops this wait (a cancellation sent to a dead silo would go nowhere).
            using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var flight = new Flight(lost);
            lock (_gate)
            {
                silo.InFlight[wire.AttemptId] = flight;
            }

            WireOutcome? outcome = null;
            string? lostReason = null;
            _progress.Attempts[wire.AttemptId] = new AttemptLines(dispatch.Request.Progress);
            try
            {
                outcome = await silo.Grain.Execute(wire, ProgressReference(), cancellationToken).WaitAsync(lost.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (OperationCanceledException) when (flight.LostReason is { } reason)
            {
                lostReason = reason;
            }
            catch (Exception ex) when (ex is TypeLoadException || ex.InnerException is TypeLoadException)
            {
                // The silo is alive but cannot read this coordinator's request: another build of ParallelFlow. Sending
                // the attempt elsewhere would not help, nor would a retry.
                throw new FatalTaskException($"silo {silo.Name} ({silo.Description?.Host} pid {silo.Description?.ProcessId}) cannot read this coordinator's requests — is it the same version of ParallelFlow? ({ex.Message})");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The silo never fails a call for its worker's failure (that is an outcome): this is the call itself.
                lostReason = $"{ex.GetType().Name}: {ex.Message}";
                Lose(silo, lostReason, stillMember: true);
            }
            finally
            {
                _progress.Attempts.TryRemove(wire.AttemptId, out _);
                Release(silo, wire.AttemptId, wire.WorkerName);
            }

            if (outcome is not null)
            {
                return Unwrap(outcome, dispatch.Request.MaxMemoryBytes, cancellationToken);
            }

            if (requeues >= _options.MaxRequeues)
            {
                throw new TransientTaskException($"task '{wire.TaskId}' lost its silo {requeues + 1} times; the last: silo {silo.Name}: {lostReason}");
            }

            var message = $"silo {silo.Name} ({silo.Description?.Host} pid {silo.Description?.ProcessId}) was lost: {lostReason}";
            LogRequeued(_logger, dispatch.RunId, wire.TaskId, message);
            dispatch.ReportRequeued(message);
            wire = wire with { AttemptId = Guid.NewGuid() };
        }
    }

    /// <summary>The reference silos call with progress lines: made once, on the client, for the dispatcher's life (the
    /// client holds the sink weakly; this dispatcher holds it).</summary>
    private IAttemptProgress ProgressReference()
    {
        if (Volatile.Read(ref _progressReference) is { } made)
        {
            return made;
        }

        var reference = _client.CreateObjectReference<IAttemptProgress>(_progress);
        return Interlocked.CompareExchange(ref _progressReference, reference, null) ?? reference;
    }

    /// <summary>Hands each progress line from a silo to the attempt's own <see cref="ParallelFlow.Sdk.TaskRequest.Progress"/>, which
    /// makes it the run's <c>task_output</c> event; a line of an attempt that has ended is dropped.</summary>
    private sealed class ProgressSink : IAttemptProgress
    {
        public System.Collections.Concurrent.ConcurrentDictionary<Guid, AttemptLines> Attempts { get; } = new();

        public Task Report(Guid attemptId, long number, string line)
        {
            if (Attempts.TryGetValue(attemptId, out var attempt))
            {
                attempt.Report(number, line);
            }

            return Task.CompletedTask;
        }

        public Task ReportLast(Guid attemptId, long number, string line) => Report(attemptId, number, line);
    }

    /// <summary>An attempt's progress: a line is shown unless a later one already was.</summary>
    private sealed class AttemptLines(IProgress<string> progress)
    {
        private readonly Lock _gate = new();
        private long _shown;

        public void Report(long number, string line)
        {
            lock (_gate)
            {
                if (number <= _shown)
                {
                    return;
                }

                _shown = number;
                progress.Report(line);
            }
        }
    }

    /// <summary>Stops probing.</summary>
    /// <returns>When the probe loop has ended.</returns>
    public async ValueTask DisposeAsync()
    {
        // A host stops it, then its container disposes it: the second call has nothing left to do.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_watch is not null)
        {
            await _watch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stop.Dispose();
    }

    private static TaskResult Unwrap(WireOutcome outcome, long? memoryLimit, CancellationToken cancellationToken)
    {
        var message = outcome.ErrorType is null or nameof(TransientTaskException) or nameof(FatalTaskException) or nameof(MemoryLimitException) ? outcome.Error : $"{outcome.ErrorType}: {outcome.Error}";
        return outcome.Failure switch
        {
            WireFailure.None => outcome.Result!.ToResult(),
            WireFailure.Fatal => throw new FatalTaskException(message ?? "failed"),
            WireFailure.Memory => throw new MemoryLimitException(message ?? "over its memory limit", memoryLimit ?? 0),
            WireFailure.Cancelled when cancellationToken.IsCancellationRequested => throw new OperationCanceledException(cancellationToken),
            WireFailure.Cancelled => throw new TransientTaskException($"cancelled on silo {outcome.Silo}"),
            _ => throw new TransientTaskException(message ?? "failed"),
        };
    }

    private async Task<SiloState> AcquireAsync(string workerType, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + _options.PlacementTimeout;
        while (true)
        {
            Task changed;
            int providers;
            lock (_gate)
            {
                SiloState? best = null;
                providers = 0;
                foreach (var silo in _silos.Values)
                {
                    if (!silo.Alive || !silo.Workers.Contains(workerType))
                    {
                        continue;
                    }

                    providers++;
                    var typeFree = !silo.WorkerSlots.TryGetValue(workerType, out var typeSlots) || silo.TakenByType.GetValueOrDefault(workerType) < typeSlots;
                    if (silo.Taken < silo.Slots && typeFree && (best is null || (double)silo.Taken / silo.Slots < (double)best.Taken / best.Slots))
                    {
                        best = silo;
                    }
                }

                if (best is not null)
                {
                    best.Taken++;
                    best.TakenByType[workerType] = best.TakenByType.GetValueOrDefault(workerType) + 1;
                    return best;
                }

                changed = _changed.Task;
            }

            // Silos that provide the worker but are busy mean wait, as a task waits for a slot in one process; only a
            // worker that no silo provides for the whole timeout fails the task.
            if (providers > 0)
            {
                deadline = DateTime.UtcNow + _options.PlacementTimeout;
            }

            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                throw new FatalTaskException($"no silo of the cluster provides worker '{workerType}' now (waited {_options.PlacementTimeout.TotalSeconds:0}s for one to join)");
            }

            try
            {
                await changed.WaitAsync(remaining, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Checked again above, then refused.
            }
        }
    }

    private void Release(SiloState silo, Guid attemptId, string workerType)
    {
        lock (_gate)
        {
            silo.InFlight.Remove(attemptId);
            silo.Taken--;
            silo.TakenByType[workerType] = silo.TakenByType.GetValueOrDefault(workerType) - 1;
        }

        Signal();
    }

    private async Task WatchAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.ProbeInterval, _stop.Token).ConfigureAwait(false);
                await RefreshAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The probe loop must outlive a failed probe round.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogProbeFailed(_logger, ex.Message);
            }
        }
    }

    /// <summary>One probe round: the membership's active silos, then each silo's description.</summary>
    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        HashSet<string>? members = null;
        try
        {
            var hosts = await _client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, cancellationToken).WaitAsync(_options.ProbeTimeout, cancellationToken).ConfigureAwait(false);
            members = [.. hosts.Keys.Select(k => k.ToParsableString())];
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogProbeFailed(_logger, ex.Message);
        }

        List<SiloState> silos;
        lock (_gate)
        {
            foreach (var name in members ?? [])
            {
                if (!_silos.ContainsKey(name))
                {
                    _silos[name] = new SiloState(name, _client.GetGrain<ISiloWorkersGrain>(name));
                }
            }

            silos = [.. _silos.Values];
        }

        await Task.WhenAll(silos.Select(silo => ProbeAsync(silo, members, cancellationToken))).ConfigureAwait(false);
        Signal();
    }

    private async Task ProbeAsync(SiloState silo, HashSet<string>? members, CancellationToken cancellationToken)
    {
        if (members is not null && !members.Contains(silo.Name))
        {
            Lose(silo, "it left the cluster (the membership no longer lists it as active)", stillMember: false);
            return;
        }

        try
        {
            var description = await silo.Grain.Describe(_id).WaitAsync(_options.ProbeTimeout, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                silo.Description = description;
                silo.Workers = [.. description.Workers];
                silo.Slots = description.Slots;
                silo.WorkerSlots = description.WorkerSlots ?? [];
                silo.Misses = 0;
                if (!silo.Alive)
                {
                    silo.Alive = true;
                    silo.LostReason = null;
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var misses = ++silo.Misses;
            if (misses >= _options.MissedProbes)
            {
                Lose(silo, $"it did not answer {misses} probes in a row ({ex.GetType().Name})", stillMember: true);
            }
        }
    }

    /// <summary>Counts a silo lost: nothing more is sent to it until it answers a probe again, and the attempts it was
    /// running are cancelled here, to be sent elsewhere.</summary>
    private void Lose(SiloState silo, string reason, bool stillMember)
    {
        List<Flight> inFlight;
        lock (_gate)
        {
            var wasAlive = silo.Alive;
            silo.Alive = false;
            silo.LostReason ??= reason;
            if (!stillMember)
            {
                _silos.Remove(silo.Name);
            }

            inFlight = [.. silo.InFlight.Values];
            if (wasAlive)
            {
                LogSiloLost(_logger, silo.Name, reason, inFlight.Count);
            }
        }

        foreach (var attempt in inFlight)
        {
            attempt.LostReason ??= reason;
            try
            {
                attempt.Cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The attempt ended meanwhile.
            }
        }

        Signal();
    }

    private void Signal()
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Silo {Silo} lost: {Reason}; {InFlight} attempt(s) in flight there are sent elsewhere")]
    private static partial void LogSiloLost(ILogger logger, string silo, string reason, int inFlight);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Run {RunId}: task {TaskId} requeued: {Reason}")]
    private static partial void LogRequeued(ILogger logger, string runId, string taskId, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Debug, Message = "Cluster probe failed: {Error}")]
    private static partial void LogProbeFailed(ILogger logger, string error);

    /// <summary>An attempt on a silo: cancelled here, with the reason, when the silo is lost.</summary>
    private sealed class Flight(CancellationTokenSource cancellation)
    {
        public CancellationTokenSource Cancellation { get; } = cancellation;

        public string? LostReason { get; set; }
    }

    private sealed class SiloState(string name, ISiloWorkersGrain grain)
    {
        public string Name { get; } = name;

        public ISiloWorkersGrain Grain { get; } = grain;

        public SiloDescription? Description { get; set; }

        public HashSet<string> Workers { get; set; } = new(StringComparer.Ordinal);

        public int Slots { get; set; }

        /// <summary>Slots this coordinator has taken on the silo.</summary>
        public int Taken { get; set; }

        /// <summary>The silo's limits per worker type.</summary>
        public Dictionary<string, int> WorkerSlots { get; set; } = [];

        /// <summary>Slots this coordinator has taken on the silo, by worker type.</summary>
        public Dictionary<string, int> TakenByType { get; } = new(StringComparer.Ordinal);

        public int Misses { get; set; }

        public bool Alive { get; set; }

        public string? LostReason { get; set; }

        public Dictionary<Guid, Flight> InFlight { get; } = [];

        public ClusterSilo Snapshot() => new(Name, Description!.Host, Description.ProcessId, Description.Workers, Slots, Description.InUse, Description.Done, Description.Failed, Description.Plugins)
        {
            WorkerSlots = new Dictionary<string, int>(WorkerSlots, StringComparer.Ordinal),
        };
    }
}
