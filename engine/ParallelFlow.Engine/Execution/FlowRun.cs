using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// One run of a <see cref="CompiledPlan"/>. Its Dataflow pipeline: one execution block per worker type, each with
/// bounded capacity and parallelism set to that type's limit, all linked to a single-threaded scheduler block. A
/// finished task flows to the scheduler, which releases its dependents the moment their own dependencies are done
/// (there is no wave barrier) and hands ready tasks to execution blocks while the global and per-type limits allow,
/// highest priority and longest remaining path first.
/// </summary>
/// <remarks>Blocks never fault: whatever a worker throws becomes the task's status. Task state is written by the one
/// execution block running the task and read by the scheduler after the block hands the task over, so the
/// scheduler's state needs no locks.</remarks>
public sealed partial class FlowRun
{
    private const int StartMessage = -1;
    private const int StopMessage = -2;

    private readonly CompiledPlan _plan;
    private readonly EngineContext _context;
    private readonly int _count;
    private readonly int _workers;
    private readonly CancellationTokenSource _cancellation;
    private readonly CancellationTokenRegistration _callerRegistration;
    private readonly TaskCompletionSource<RunResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<RunEvent>? _events;

    // Per-task state, indexed by task number.
    private readonly TaskRunStatus[] _status;
    private readonly TaskResult?[] _results;
    private readonly string?[] _errors;
    private readonly FailureKind[] _failureKinds;
    private readonly int[] _attempts;
    private readonly long[] _startTimestamps;
    private readonly long[] _endTimestamps;

    private readonly ActionBlock<int> _scheduler;
    private readonly TransformBlock<int, int>[] _execution;

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

        var groups = plan.GroupNames.Length;
        _ready = new PriorityQueue<int, int>[groups];
        _groupRunning = new int[groups];
        _groupCapacity = new int[groups];
        for (var g = 0; g < groups; g++)
        {
            _ready[g] = new PriorityQueue<int, int>();
            _groupCapacity[g] = Math.Min(plan.GroupLimits[g], _workers);
        }

        // The scheduler holds at most one message per running task, plus start and stop.
        _scheduler = new ActionBlock<int>(OnMessage, new ExecutionDataflowBlockOptions
        {
            MaxDegreeOfParallelism = 1,
            BoundedCapacity = _workers + 2,
            SingleProducerConstrained = false,
        });

        // An execution block holds the tasks the scheduler counts as running in its group, plus at most one finished
        // task the scheduler has already taken but the block has not yet released: a source offers its outputs one at
        // a time and lowers its bounded count only after the target accepted. Limit + 1 therefore never refuses a Post.
        _execution = new TransformBlock<int, int>[groups];
        var linkOptions = new DataflowLinkOptions { PropagateCompletion = false };
        for (var g = 0; g < groups; g++)
        {
            _execution[g] = new TransformBlock<int, int>(ExecuteAsync, new ExecutionDataflowBlockOptions
            {
                MaxDegreeOfParallelism = _groupCapacity[g],
                BoundedCapacity = _groupCapacity[g] == int.MaxValue ? int.MaxValue : _groupCapacity[g] + 1,
                EnsureOrdered = false,
            });
            _execution[g].LinkTo(_scheduler, linkOptions);
        }

        _callerRegistration = cancellationToken.UnsafeRegister(static state => ((FlowRun)state!).RequestStop(), this);
    }

    /// <summary>The run's id.</summary>
    public string RunId { get; }

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
        _runStartTimestamp = _context.TimeProvider.GetTimestamp();
        _runStartedAt = _context.TimeProvider.GetUtcNow();
        _context.Log.RunStarted(RunId, _plan.Definition.Id, _count, _workers);
        Emit(RunEventKind.RunStarted, message: $"{_count} tasks, {_workers} workers");
        _scheduler.Post(StartMessage);
    }

    private void RequestStop()
    {
        if (_stopRequested)
        {
            return;
        }

        _stopRequested = true;
        _cancellation.Cancel();
        _ = _scheduler.SendAsync(StopMessage);
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
        _events.Writer.TryWrite(new RunEvent(kind, _context.TimeProvider.GetUtcNow(), definition?.Id, definition?.Worker, worker, attempt, status, message, delay));
    }
}
