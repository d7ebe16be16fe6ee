using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// One run of a <see cref="CompiledPlan"/>. Its Dataflow stage is one execution block per worker type, each with
/// bounded capacity and parallelism set to that type's limit. When a task finishes, the block running it takes the
/// run's scheduling step: it releases the task's dependents the moment their own dependencies are done (there is no
/// wave barrier) and posts ready tasks into the execution blocks while the global and per-type limits allow, highest
/// priority and longest remaining path first.
/// </summary>
/// <remarks>
/// <para>The scheduling step is a short critical section rather than a block of its own: linking a scheduler block
/// costs two thread-pool hops per task (a linked source offers its outputs on a separately scheduled task), which
/// measured 3–4 µs per task; a finishing task that posts its successor into the block it runs in lets a chain go on
/// on the same thread.</para>
/// <para>Blocks never fault: whatever a worker throws becomes the task's status. Task state is written by the one
/// execution block running the task before it enters the scheduling step, which publishes it.</para>
/// </remarks>
public sealed partial class FlowRun
{
    private readonly CompiledPlan _plan;
    private readonly EngineContext _context;
    private readonly int _count;
    private readonly int _workers;
    private readonly CancellationTokenSource _cancellation;
    private readonly CancellationToken _callerToken;
    private CancellationTokenRegistration _callerRegistration;
    // Continuations run on the thread that ends the run, outside the gate (see PublishOutcome).
    private readonly TaskCompletionSource<RunResult> _completion = new();
    private readonly Channel<RunEvent>? _events;

    // Per-task state, indexed by task number.
    private readonly TaskRunStatus[] _status;
    private readonly TaskResult?[] _results;
    private readonly string?[] _errors;
    private readonly FailureKind[] _failureKinds;
    private readonly int[] _attempts;
    private readonly long[] _startTimestamps;
    private readonly long[] _endTimestamps;
    private bool[]? _abandoned;

    private readonly Lock _gate = new();
    private readonly IRunJournal? _journal;
    private readonly GroupCommit? _commit;
    private readonly IReadOnlyDictionary<string, TaskResult>? _restored;
    private readonly ITaskCache? _cache;
    private readonly TimeSpan? _cacheTimeToLive;
    private readonly TaskCacheKey?[]? _cacheKeys;
    private readonly BudgetLedger? _budget;
    private readonly Plans.BudgetSettings? _budgetSettings;
    private ITimer? _wallTimer;
    private volatile bool _wallExhausted;
    private readonly List<int>? _waitingForBudget;
    private readonly ActionBlock<int>[] _execution;

    private long _runStartTimestamp;
    private DateTimeOffset _runStartedAt;

    internal FlowRun(CompiledPlan plan, RunOptions options, CancellationToken cancellationToken)
    {
        _plan = plan;
        _context = plan.Context;
        _count = plan.Graph.Count;
        _workers = Math.Max(1, Math.Min(plan.Definition.Parallelism.Resolve(options.Workers), _count));
        RunId = options.RunId ?? RunIds.New(_context.TimeProvider);
        _cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _events = options.StreamEvents
            ? Channel.CreateUnbounded<RunEvent>(new UnboundedChannelOptions { SingleReader = true })
            : null;

        _status = new TaskRunStatus[_count];
        _results = new TaskResult?[_count];
        _errors = new string?[_count];
        _failureKinds = new FailureKind[_count];
        _attempts = new int[_count];
        _startTimestamps = new long[_count];
        _endTimestamps = new long[_count];
        _remaining = (int[])plan.Graph.PredecessorCount.Clone();

        StrategyName = options.Strategy ?? plan.Definition.Strategy;
        (_strategy, _pluginStrategy) = ResolveStrategy(StrategyName);
        if (_pluginStrategy is not null)
        {
            _rankComparer = new PluginOrder(this, _pluginStrategy);
            _readyOrder = new long[_count];
        }

        var groups = plan.GroupNames.Length;
        // Observed durations can change the order only where the order depends on remaining paths, and for the
        // critical path only between worker types (see FlowRun.Strategy).
        if (_strategy == Plans.BuiltInStrategy.Plugin || (_strategy == Plans.BuiltInStrategy.CriticalPath && groups > 1))
        {
            _observedSeconds = new double[groups];
            _observedEstimate = new double[groups];
            _factor = new double[groups];
            Array.Fill(_factor, 1.0);
        }

        _ready = new PriorityQueue<int, long>[groups];
        _groupRunning = new int[groups];
        _groupCapacity = new int[groups];
        for (var g = 0; g < groups; g++)
        {
            _ready[g] = new PriorityQueue<int, long>(plan.ReadyCapacity[g], _rankComparer);
            _groupCapacity[g] = Math.Min(plan.GroupLimits[g], _workers);
        }

        // An execution block holds the tasks the scheduling step counts as running in its group, plus at most one
        // finishing task per worker slot that has already left the count but whose delegate has not returned yet:
        // twice the group's capacity, so a Post from the scheduling step is never refused.
        _execution = new ActionBlock<int>[groups];
        for (var g = 0; g < groups; g++)
        {
            _execution[g] = new ActionBlock<int>(ExecuteAsync, new ExecutionDataflowBlockOptions
            {
                MaxDegreeOfParallelism = _groupCapacity[g],
                BoundedCapacity = 2 * _groupCapacity[g],
                EnsureOrdered = false,
            });
        }

        _callerToken = cancellationToken;
        _journal = options.Journal;
        _commit = _journal is null ? null : new GroupCommit();
        _restored = options.Restored;
        _cache = options.Cache;
        _cacheTimeToLive = options.CacheTimeToLive;
        _cacheKeys = _cache is null ? null : new TaskCacheKey?[_count];
        var budget = options.Budget ?? plan.Definition.Budget;
        _budgetSettings = budget;
        _budget = budget is null || (budget.Tokens is null && budget.Cost is null) ? null : new BudgetLedger(budget, plan.Tasks, [.. Enumerable.Range(0, _count).Select(EstimateOf)]);
        _waitingForBudget = _budget is null ? null : [];
    }

    /// <summary>The run's id.</summary>
    public string RunId { get; }

    /// <summary>A task's expected tokens and cost: the plan's estimate, else the worker's.</summary>
    private TaskEstimate? EstimateOf(int task)
    {
        var definition = _plan.Tasks[task];
        TaskEstimate? fromWorker = null;
        try
        {
            fromWorker = _plan.Workers[task].Estimate(definition.With);
        }
#pragma warning disable CA1031 // A worker that cannot estimate gives no estimate.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        var tokens = definition.EstimateTokens ?? fromWorker?.Tokens;
        var cost = definition.EstimateCost ?? fromWorker?.Cost;
        return tokens is null && cost is null ? null : new TaskEstimate(definition.EstimateSeconds ?? fromWorker?.Seconds, tokens, cost);
    }

    /// <summary>Completes with the run's result when every task has reached a final status. Never faults;
    /// a cancelled run completes with <see cref="RunStatus.Cancelled"/>.</summary>
    public Task<RunResult> Completion => _completion.Task;

    /// <summary>The number of worker slots this run uses.</summary>
    public int Workers => _workers;

    internal CancellationToken CancellationToken => _cancellation.Token;

    /// <summary>Cancels the run: running tasks are cancelled, unstarted ones end cancelled.</summary>
    public void Cancel() => RequestStop();

    /// <summary>Streams the run's events as they happen, until the run ends.</summary>
    /// <param name="cancellationToken">Stops the reading, not the run.</param>
    /// <returns>The events, in the order they were recorded.</returns>
    /// <exception cref="InvalidOperationException">The run was started without <see cref="RunOptions.StreamEvents"/>.</exception>
    public IAsyncEnumerable<RunEvent> ReadEventsAsync(CancellationToken cancellationToken = default) =>
        _events is null
            ? throw new InvalidOperationException("Start the run with RunOptions.StreamEvents = true to read its events.")
            : _events.Reader.ReadAllAsync(cancellationToken);

    /// <summary>Takes a snapshot of the run's state: busy and idle workers, counts by status, and each worker type's
    /// history. Safe to call from any thread at any time.</summary>
    /// <returns>The snapshot.</returns>
    public RunStatusSnapshot GetStatus()
    {
        int pending = 0, running = 0, succeeded = 0, failed = 0, skipped = 0, cancelled = 0;
        var finished = new List<(long End, string Group, TaskHistoryEntry Entry)>();
        Interlocked.MemoryBarrier();
        for (var i = 0; i < _count; i++)
        {
            var status = _status[i];
            switch (status)
            {
                case TaskRunStatus.Pending: pending++; continue;
                case TaskRunStatus.Running: running++; continue;
                case TaskRunStatus.Succeeded or TaskRunStatus.Cached: succeeded++; break;
                case TaskRunStatus.Failed or TaskRunStatus.TimedOut: failed++; break;
                case TaskRunStatus.Skipped: skipped++; break;
                default: cancelled++; break;
            }

            finished.Add((_endTimestamps[i], _plan.Tasks[i].Worker, new TaskHistoryEntry(_plan.Tasks[i].Id, status, Duration(i), _errors[i])));
        }

        var history = finished
            .OrderBy(f => f.End)
            .GroupBy(f => f.Group, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<TaskHistoryEntry>)[.. g.Select(f => f.Entry)], StringComparer.Ordinal);
        return new RunStatusSnapshot
        {
            BusyWorkers = running,
            IdleWorkers = Math.Max(0, _workers - running),
            Pending = pending,
            Running = running,
            Succeeded = succeeded,
            Failed = failed,
            Skipped = skipped,
            Cancelled = cancelled,
            History = history,
        };
    }

    internal void Begin()
    {
        // A host may have set a secret variable since the engine was made.
        _context.Secrets.Refresh();
        _runStartTimestamp = _context.TimeProvider.GetTimestamp();
        _runStartedAt = _context.TimeProvider.GetUtcNow();

        _context.Log.RunStarted(RunId, _plan.Definition.Id, _count, _workers);
        Emit(RunEventKind.RunStarted, message: $"{_count} tasks, {_workers} workers");

        if ((_budgetSettings?.WallSeconds) is { } wall)
        {
            _wallTimer = _context.TimeProvider.CreateTimer(
                static state =>
                {
                    var run = (FlowRun)state!;
                    run._wallExhausted = true;
                    run.RequestStop();
                },
                this,
                TimeSpan.FromSeconds(wall),
                Timeout.InfiniteTimeSpan);
        }

        // Registered only now, so that a token cancelled already stops a run whose clock has started.
        _callerRegistration = _callerToken.UnsafeRegister(static state => ((FlowRun)state!).RequestStop(), this);
        lock (_gate)
        {
            Step(new StepMessage(StepKind.Start));
        }

        PublishOutcome();
    }

    private void RequestStop()
    {
        if (_stopRequested)
        {
            return;
        }

        _stopRequested = true;
        CancelWorkers();
        lock (_gate)
        {
            Step(new StepMessage(StepKind.Stop));
        }

        PublishOutcome();
    }

    /// <summary>Cancels the running tasks' token. Never called while holding the gate: cancellation runs callbacks
    /// inline, and a task whose wait it ends may finish on this thread and take the scheduling step.</summary>
    private void CancelWorkers()
    {
        try
        {
            _cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run already finished.
        }
        catch (AggregateException ex)
        {
            // A worker's cancellation callback threw: every other callback ran; the run stops all the same.
            _context.Log.CancellationCallbackFailed(RunId, ex);
        }
    }

    private TimeSpan Duration(int task) =>
        _startTimestamps[task] == 0 || _endTimestamps[task] == 0
            ? TimeSpan.Zero
            : _context.TimeProvider.GetElapsedTime(_startTimestamps[task], _endTimestamps[task]);

    private void Emit(RunEventKind kind, int task = -1, int worker = 0, int attempt = 0, TaskRunStatus? status = null, string? message = null, TimeSpan? delay = null)
    {
        if (_events is null)
        {
            return;
        }

        var definition = task >= 0 ? _plan.Tasks[task] : null;
        _events.Writer.TryWrite(new RunEvent(kind, _context.TimeProvider.GetUtcNow(), definition?.Id, definition?.Worker, worker, attempt, status,
            _context.Secrets.RedactOrNull(message), delay));
    }
}
