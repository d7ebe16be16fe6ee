using System.Threading.Channels;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// One run of a <see cref="CompiledPlan"/>: an event-driven list scheduler over an executor. When a task finishes, the
/// thread that ran it takes the run's scheduling step under the run's gate: the task's dependents are released the
/// moment their own dependencies are done (there is no wave barrier), and ready tasks are handed to the executor while
/// the global and per-worker-type limits allow, highest priority and longest remaining path first. In process, the
/// executor is a bounded Dataflow block per worker type (<see cref="InProcessExecutor"/>).
/// </summary>
/// <remarks>
/// <para>How the source is laid out: this file holds the run's shared state and its public face;
/// <c>FlowRun.Scheduling.cs</c> the scheduling step and the <see cref="RunPhase"/> state machine;
/// <c>FlowRun.Execution.cs</c> one task's attempts, and the run's side of the executor seam;
/// <c>FlowRun.Journal.cs</c> the group-committed journal; <c>FlowRun.Completion.cs</c> the result. Per-task state is
/// one <see cref="TaskTable"/>, ranking one <see cref="ReadyQueues"/>.</para>
/// <para>The scheduling step is a short critical section rather than a block of its own: linking a scheduler block
/// costs two thread-pool hops per task (a linked source offers its outputs on a separately scheduled task), which
/// measured 3–4 µs per task; a finishing task that runs its successor itself lets a chain go on on the same thread.</para>
/// <para>Every method that must hold the gate asserts it. Fields written under the gate are read outside it only
/// where a comment at the read says why that is safe.</para>
/// </remarks>
public sealed partial class FlowRun : IExecutionHost, Diagnostics.IRunGauges, IDependencyOutputSource
{
    private readonly CompiledPlan _plan;

    // Set once, in the constructor: the run's input values and the parameters of the tasks that use them.
    private readonly RunInputs? _inputs;

    /// <summary>What every request of this run shares: the task logger, the inputs' values, the memory limit.</summary>
    private readonly RequestScope _requestScope;

    private static readonly IReadOnlyDictionary<string, System.Text.Json.JsonElement> RunInputsNone = new Dictionary<string, System.Text.Json.JsonElement>().AsReadOnly();
    private readonly EngineContext _context;
    private readonly int _count;
    // The slots the run has: max_workers for an adaptive pool, whose current size is _limit (under the gate).
    private readonly int _workers;
    private int _limit;
    private int _peakLimit;
    private bool _held;
    private readonly AdaptivePool? _sizer;
    private readonly ILoadSource? _load;
    private ITimer? _sizeTimer;
    private int _resizing;

    // The report keeps the first changes of a long run, not all of them; events and logs have every one.
    private const int MaxResizesKept = 1000;
    private List<PoolResize>? _resizes;
    private readonly CancellationTokenSource _cancellation;
    private readonly CancellationToken _callerToken;
    private CancellationTokenRegistration _callerRegistration;
    // Continuations run on the thread that ends the run, outside the gate (see PublishOutcome).
    private readonly TaskCompletionSource<RunResult> _completion = new();
    private readonly Channel<RunEvent>? _events;

    private readonly TaskTable _tasks;
    private readonly Lock _gate = new();
    private readonly ITaskExecutor _executor;
    private readonly ITaskDispatcher? _dispatcher;

    private readonly IRunJournal? _journal;
    private readonly GroupCommit? _commit;
    private readonly IReadOnlyDictionary<string, TaskResult>? _restored;
    private readonly ITaskCache? _cache;
    private readonly TimeSpan? _cacheTimeToLive;
    private readonly BudgetLedger? _budget;
    private readonly Plans.BudgetSettings? _budgetSettings;
    private ITimer? _wallTimer;

    // The run's span, when someone traces (set in Begin, ended in Finish); each running task's, by task.
    private System.Diagnostics.Activity? _runSpan;
    private System.Diagnostics.Activity?[]? _taskSpans;
    private bool _gauged;

    // Whether the run reports to telemetry at all (not the warm-up's runs).
    private readonly bool _measured;

    // The execution context the run was made in: its tasks run in it, whichever thread the executor gives them.
    private readonly ExecutionContext? _callerContext = ExecutionContext.Capture();

    // The activity current where the run was made: its span's parent, also when a pool starts the run later on a
    // thread of its own.
    private readonly System.Diagnostics.Activity? _parentSpan = System.Diagnostics.Activity.Current;

    private long _runStartTimestamp;

    // The run's clock, when it reads the processor's counter (see CycleClock); else it reads the TimeProvider.
    private CycleClock.Anchor _cycles;
    private bool _counts;
    private DateTimeOffset _runStartedAt;

    internal FlowRun(CompiledPlan plan, RunOptions options, RunInputs? inputs, bool resultOnly, CancellationToken cancellationToken)
    {
        _plan = plan;
        _inputs = inputs;
        _requestScope = inputs is null ? plan.RequestScope : plan.RequestScope with { Inputs = inputs.Values };
        _context = plan.Context;
        _count = plan.Graph.Count;
        Pool = options.Pool;
        _measured = !options.Unmeasured;
        // In a pool, a run with no worker count of its own may use the whole pool.
        var requested = options.Workers ?? (Pool is not null && plan.Definition.Parallelism is { DefaultWorkers: null, MaxWorkers: null } ? Pool.Options.Workers : null);
        var parallelism = plan.Definition.Parallelism;
        var adaptive = options.Adaptive ?? parallelism.Adaptive;
        if (adaptive)
        {
            // The slots go up to max_workers; the pool starts at the count asked for (else the plan's default, else the
            // cores) and moves between min_workers and max_workers with the load.
            _workers = Math.Max(1, Math.Min(parallelism.MaxWorkers ?? AdaptivePool.DefaultMax, _count));
            var min = Math.Min(parallelism.MinWorkers ?? 1, _workers);
            _limit = Math.Clamp(requested ?? parallelism.DefaultWorkers ?? Plans.ParallelismSettings.MachineDefault, min, _workers);
            _sizer = new AdaptivePool(true, min, _workers, plan.Definition.Resources.CpuThreshold ?? AdaptivePool.DefaultCpuThreshold, plan.Definition.Resources.MaxMemoryBytes);
        }
        else
        {
            _workers = Math.Max(1, Math.Min(parallelism.Resolve(requested), _count));
            _limit = _workers;
            if (plan.Definition.Resources.MaxMemoryBytes is { } limit)
            {
                // A fixed pool still holds back new tasks while the engine is over its memory limit.
                _sizer = new AdaptivePool(false, _workers, _workers, 1, limit);
            }
        }

        _peakLimit = _limit;
        _load = _sizer is null ? null : options.LoadSource ?? new SystemLoad();
        RunId = options.RunId ?? RunIds.New(_context.TimeProvider);
        _cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _callerToken = cancellationToken;
        _events = options.StreamEvents
            ? Channel.CreateUnbounded<RunEvent>(new UnboundedChannelOptions { SingleReader = true })
            : null;

        // Arrays are given back only by a run whose caller sees nothing but its result (no handle to read its status),
        // on this process's executor (its tasks have all returned once it is idle). In a pool too: a wake the pool
        // queued before the run left it finds the run finished and reads nothing of its arrays.
        _givesBackArrays = resultOnly && options.Executor is null && options.Dispatcher is null;
        // Any run takes a set the plan keeps (the one it was compiled with, or one a run gave back): a run that keeps
        // its arrays would have made new ones all the same.
        var kept = plan.TakeIdleArrays();
        _tasks = new TaskTable(_count, kept);
        // A lane's ready sets came with the arrays: this run uses them if it has a lane with as many workers, and gives
        // them back either way.
        _keptLane = kept?.Lane;
        _remaining = kept?.Remaining ?? new int[_count];
        Array.Copy(plan.Graph.PredecessorCount, _remaining, _count);
        _ready = new ReadyQueues(plan, options.Strategy ?? plan.Definition.Strategy, _gate, _context.Log, RunId);

        var groups = plan.GroupNames.Length;
        _groupRunning = new int[groups];
        _groupCapacity = new int[groups];
        for (var g = 0; g < groups; g++)
        {
            _groupCapacity[g] = Math.Min(plan.GroupLimits[g], _workers);
        }

        _executor = (options.Executor ?? InProcessExecutor.Factory)(this, plan, _groupCapacity);
        _dispatcher = options.Dispatcher;

        _journal = options.Journal;
        _commit = _journal is null ? null : new GroupCommit();
        _restored = options.Restored;
        _cache = options.Cache;
        _cacheTimeToLive = options.CacheTimeToLive;
        if (_cache is not null)
        {
            _tasks.CacheKeys = new TaskCacheKey?[_count];
        }

        if (options.RecordAttempts)
        {
            _tasks.AttemptLogs = new List<AttemptMark>?[_count];
        }

        if (options.RecordAttempts || (_measured && Diagnostics.EngineTelemetry.MeasuresQueueWait))
        {
            _tasks.Ready = new long[_count];
        }

        var budget = options.Budget ?? plan.Definition.Budget;
        _budgetSettings = budget;
        _budget = budget is null || (budget.Tokens is null && budget.Cost is null) ? null : new BudgetLedger(budget, plan.Tasks, [.. Enumerable.Range(0, _count).Select(EstimateOf)]);
        _waitingForBudget = _budget is null ? null : [];
        _handsOver = _events is null && _commit is null && _budget is null && _sizer is null &&
            _tasks.Ready is null && _tasks.AttemptLogs is null && !_ready.LearnsDurations;
        if (_handsOver && groups == 1 && _ready.FixedOrder is var (place, byPlace, tieEnd))
        {
            _lanePlace = place;
            _laneTasks = byPlace;
            _laneLimit = Math.Min(_limit, _groupCapacity[0]);
            if (Pool is not null)
            {
                // No more workers than the pool could ever give it: a run that wanted more would find a worker free at
                // every task's end and ask the pool again, to be refused.
                _laneLimit = Math.Min(_laneLimit, Math.Min(Pool.Options.Workers, Pool.Options.Limits.GetValueOrDefault(plan.GroupNames[0], int.MaxValue)));
            }

            // A set per worker (LaneSets); the kept ones if there are as many.
            var stripes = Math.Clamp(_laneLimit, 1, LaneSets.MaxStripes);
            _lane = _keptLane is { } keptLane && keptLane.Stripes == stripes ? keptLane : new LaneSets(_count, stripes);
            // The system's clock is the machine's (Stopwatch ticks, read through the processor's counter or not).
            _laneWindow = ReferenceEquals(_context.TimeProvider, TimeProvider.System) ? System.Diagnostics.Stopwatch.Frequency * 20 / 1_000_000 : 0;
            _lane.Begin(tieEnd, _laneWindow);
        }
    }

    /// <summary>Whether a step that only gives a finished task's worker to its one ready dependent may be taken without
    /// the gate (<see cref="TryHandOver"/>): nobody reads the run's events or journal, and it keeps nothing per worker
    /// or per release: no budget, adaptive size, worker slots, ready times or learned durations. In a pool, only while
    /// no other run waits for a slot (<see cref="ParallelFlowPool.NoOtherWaits"/>): the task's slot then goes with its
    /// worker. A lane run in a pool takes a worker, and gives one back, only in a step, where the pool is asked.</summary>
    private readonly bool _handsOver;

    /// <summary>The run's id.</summary>
    public string RunId { get; }

    /// <summary>The strategy the run uses, by name.</summary>
    public string StrategyName => _ready.StrategyName;

    /// <summary>A task's expected tokens and cost: what earlier runs measured, else the plan's estimate, else the worker's.</summary>
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

        var tokens = definition.Learned?.Tokens ?? definition.EstimateTokens ?? fromWorker?.Tokens;
        var cost = definition.Learned?.Cost ?? definition.EstimateCost ?? fromWorker?.Cost;
        return tokens is null && cost is null ? null : new TaskEstimate(definition.EstimateSeconds ?? fromWorker?.Seconds, tokens, cost);
    }

    /// <summary>Completes with the run's result when every task has reached a final status. A cancelled run completes
    /// with <see cref="RunStatus.Cancelled"/>, a failed one with <see cref="RunStatus.Failed"/>; neither faults.</summary>
    /// <remarks>Faults only on a bug in the engine's scheduler (the exception is kept, and the run's events end with it),
    /// never for anything a worker, a plugin's strategy, the journal or the cache does.</remarks>
    public Task<RunResult> Completion => _completion.Task;

    /// <inheritdoc/>
    int Diagnostics.IRunGauges.RunningTasks => Volatile.Read(ref _running);

    /// <inheritdoc/>
    int Diagnostics.IRunGauges.ReadyTasks => ReadyCount;

    /// <summary>The number of worker slots this run uses: for an adaptive pool, its size now.</summary>
    public int Workers => Volatile.Read(ref _limit);

    internal CancellationToken CancellationToken => _cancellation.Token;

    /// <summary>The pool whose limits the run shares, if any. Set once, in the constructor.</summary>
    internal ParallelFlowPool? Pool { get; }

    /// <summary>The run's share of its pool while it is a member (set by the pool, under its lock); else null.</summary>
    internal ParallelFlowPool.Member? PoolMember { get; set; }

    /// <summary>The worker type of each of the run's groups, as its pool counts them.</summary>
    internal string[] PoolTypeNames => _plan.GroupNames;

    /// <summary>The pool has a slot this run may get: it takes a scheduling step to ask (on a pool thread).</summary>
    internal void PoolWake() => TakeStep(new StepMessage(StepKind.Wake), -1);

    /// <summary>Cancels the run: running tasks are cancelled, unstarted ones end cancelled.</summary>
    public void Cancel() => RequestStop(StopReason.Cancelled);

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
        // Read without the gate on purpose (see TaskTable): a live view must not slow the scheduler down, and a
        // snapshot a step behind is still a state the run was in, task by task.
        Interlocked.MemoryBarrier();
        for (var i = 0; i < _count; i++)
        {
            var status = _tasks.Status[i];
            switch (status)
            {
                case TaskRunStatus.Pending: pending++; continue;
                case TaskRunStatus.Running: running++; continue;
                case TaskRunStatus.Succeeded or TaskRunStatus.Cached: succeeded++; break;
                case TaskRunStatus.Failed or TaskRunStatus.TimedOut: failed++; break;
                case TaskRunStatus.Skipped: skipped++; break;
                default: cancelled++; break;
            }

            finished.Add((_tasks.Ended[i], _plan.Tasks[i].Worker, new TaskHistoryEntry(_plan.Tasks[i].Id, status, Duration(i), _tasks.Errors[i])));
        }

        var history = finished
            .OrderBy(f => f.End)
            .GroupBy(f => f.Group, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<TaskHistoryEntry>)[.. g.Select(f => f.Entry)], StringComparer.Ordinal);
        return new RunStatusSnapshot
        {
            BusyWorkers = running,
            IdleWorkers = Math.Max(0, Volatile.Read(ref _limit) - running),
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
        // A queued run cancelled by FlowRun.Cancel has finished already; its turn in the pool comes to nothing.
        if (Phase != RunPhase.Created)
        {
            return;
        }

        // The processor's counter only for the system's clock: a run given a clock of its own (a test's fake) reads it.
        var anchor = ReferenceEquals(_context.TimeProvider, TimeProvider.System) ? CycleClock.Start() : null;
        (_cycles, _counts) = (anchor.GetValueOrDefault(), anchor.HasValue);
        _runStartTimestamp = _counts ? _cycles.Ticks : _context.TimeProvider.GetTimestamp();
        _runStartedAt = _context.TimeProvider.GetUtcNow();

        _context.Log.RunStarted(RunId, _plan.Definition.Id, _count, _workers);
        // Only when something listens: a process whose runs nobody traces never compiles the span's code.
        _runSpan = _measured && Diagnostics.EngineTelemetry.IsTracing ? Diagnostics.EngineTelemetry.StartRun(_parentSpan?.Context ?? default, _plan.Definition.Id, RunId, StrategyName, _workers, _count) : null;
        if (_runSpan is not null)
        {
            _taskSpans = new System.Diagnostics.Activity?[_count];
        }

        if (_measured && Diagnostics.EngineTelemetry.MeasuresGauges)
        {
            _gauged = true;
            Diagnostics.EngineTelemetry.RunBegan(this);
        }

        if (_events is not null)
        {
            // Its message is made only for someone who reads it.
            Emit(RunEventKind.RunStarted, message: _sizer is { Max: var max, Min: var min } && max != min
                ? $"{_count} tasks, {_limit} workers (adaptive, {min}–{max})"
                : $"{_count} tasks, {_workers} workers");
        }

        // Registered only now, so that a token cancelled already stops a run whose clock has started; and before the
        // wall timer, whose stop disposes this registration when it ends the run.
        _callerRegistration = _callerToken.UnsafeRegister(static state => ((FlowRun)state!).RequestStop(StopReason.Cancelled), this);
        if ((_budgetSettings?.WallSeconds) is { } wall)
        {
            _wallTimer = _context.TimeProvider.CreateTimer(
                static state => ((FlowRun)state!).RequestStop(StopReason.WallTime),
                this,
                TimeSpan.FromSeconds(wall),
                Timeout.InfiniteTimeSpan);
        }

        if (_sizer is not null)
        {
            _sizeTimer = _context.TimeProvider.CreateTimer(static state => ((FlowRun)state!).Resize(), this, _sizer.Interval, _sizer.Interval);
        }

        TakeStep(new StepMessage(StepKind.Start), -1);
    }

    /// <summary>Reads the load and lets the pool's rule resize it (or hold back new tasks); on the run's clock, every
    /// <see cref="AdaptivePool.Interval"/> of its pool. A larger pool (or one no longer held) offers the ready tasks again.</summary>
    private void Resize()
    {
        if (Phase > RunPhase.Running)
        {
            // Finished (or ended by a fault): the timer goes with the run.
            _sizeTimer?.Dispose();
            return;
        }

        // A reading that takes longer than the interval is not overlapped by the next.
        if (Phase != RunPhase.Running || Interlocked.Exchange(ref _resizing, 1) == 1)
        {
            return;
        }

        try
        {
            ResizeCore();
        }
        finally
        {
            Volatile.Write(ref _resizing, 0);
        }
    }

    private void ResizeCore()
    {
        LoadSample load;
        try
        {
            load = _load!.Sample();
        }
#pragma warning disable CA1031 // A load that cannot be read leaves the pool as it is.
        catch (Exception)
#pragma warning restore CA1031
        {
            return;
        }

        bool wake;
        lock (_gate)
        {
            if (Phase != RunPhase.Running)
            {
                return;
            }

            var decision = _sizer!.Decide(_limit, _held, _running, _ready.Count, load);
            wake = decision.Size > _limit || (_held && !decision.Held);
            if (decision.Reason is { } reason)
            {
                var from = _limit;
                (_limit, _held) = (decision.Size, decision.Held);
                _peakLimit = Math.Max(_peakLimit, _limit);
                var at = _context.TimeProvider.GetElapsedTime(_runStartTimestamp, Now());
                if ((_resizes ??= []).Count < MaxResizesKept)
                {
                    _resizes.Add(new PoolResize(at, from, _limit, _held, reason));
                }

                _context.Log.PoolResized(RunId, from, _limit, reason);
                Diagnostics.EngineTelemetry.PoolResized(_runSpan, from, _limit, reason);
                Emit(RunEventKind.PoolResized, worker: _limit, message: $"{from} → {_limit} workers: {reason}");
            }
        }

        if (wake)
        {
            PoolWake();
        }
    }

    /// <summary>Stops the run for a reason, from any thread: the first reason wins, and later requests do nothing.</summary>
    private void RequestStop(StopReason reason)
    {
        if (Interlocked.CompareExchange(ref _stopReason, (int)reason, (int)StopReason.None) != (int)StopReason.None)
        {
            return;
        }

        if (_gate.IsHeldByCurrentThread)
        {
            // Asked from inside a step (a host's logger, on this thread): that step stops the run before it ends, and
            // its caller cancels the workers outside the gate. Cancelling here could run a worker's continuation —
            // and its scheduling step — inside the step in progress.
            return;
        }

        // Before the gate: a worker waiting on its token is released at once, even while a step holds the gate.
        CancelWorkers();
        TakeStep(new StepMessage(StepKind.Stop), -1);
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

    private TimeSpan Duration(int task) => _tasks.Duration(task, _context.TimeProvider);

    /// <summary>The run's clock now (<see cref="TimeProvider.GetTimestamp"/>'s ticks): read after everything before it,
    /// so that a task's start never comes before the ends of the dependencies another thread saw finish.</summary>
    private long Now() => _counts ? _cycles.NowOrdered() : _context.TimeProvider.GetTimestamp();

    /// <summary>The run's clock now, for a task's end: with the processor's counter, read without waiting for what came
    /// before (a few instructions early at most).</summary>
    private long NowAtEnd() => _counts ? _cycles.Now() : _context.TimeProvider.GetTimestamp();

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
