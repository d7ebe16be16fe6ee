using System.Collections.Concurrent;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Server;

/// <summary>The runs this service started, each with every event it has sent so far, numbered, so that a client that
/// reconnects with <c>Last-Event-ID</c> misses nothing.</summary>
internal sealed class RunHub(ServeSettings settings)
{
    private readonly ConcurrentDictionary<string, HubRun> _runs = new(StringComparer.Ordinal);

    /// <summary>Adds a run. A run resumed here continues the numbering of its events from where the stream of its
    /// earlier start ended, so that a client that reconnects with an id of that stream gets the new events whole.</summary>
    public HubRun Add(FlowRun flow, string plan, CompiledPlan compiled)
    {
        var first = _runs.TryGetValue(flow.RunId, out var earlier) ? earlier.LastId + 1 : 1;
        var run = new HubRun(flow, plan, compiled, first);
        _runs[flow.RunId] = run;
        run.Pump();
        Forget();
        return run;
    }

    /// <summary>Lets go of the oldest finished runs beyond the number kept, so that a service that runs for months does
    /// not hold every event it ever sent; with a journal, their reports stay there.</summary>
    private void Forget()
    {
        var finished = _runs.Values.Where(r => r.Ended).ToList();
        foreach (var old in finished.OrderBy(r => r.Submitted).Take(finished.Count - settings.KeepFinishedRuns))
        {
            _runs.TryRemove(KeyValuePair.Create(old.Flow.RunId, old));
        }
    }

    public HubRun? Find(string runId) => _runs.TryGetValue(runId, out var run) ? run : null;

    public IReadOnlyCollection<HubRun> Runs => [.. _runs.Values];
}

/// <summary>One run, its events, and each task's state as they say it.</summary>
/// <param name="flow">The run.</param>
/// <param name="plan">The plan's name as runs are listed by it.</param>
/// <param name="compiled">The plan as it runs.</param>
/// <param name="firstId">The number of the run's first event here (1, or after the events of its earlier start).</param>
internal sealed class HubRun(FlowRun flow, string plan, CompiledPlan compiled, long firstId)
{
    private readonly Lock _gate = new();
    private readonly List<RunEvent> _events = [];
    private readonly Dictionary<string, TaskNow> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _finished = new(StringComparer.Ordinal);
    private TaskCompletionSource _more = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _ended;

    public FlowRun Flow { get; } = flow;

    public string Plan { get; } = plan;

    /// <summary>The plan as it runs: its tasks and their dependencies.</summary>
    public CompiledPlan Compiled { get; } = compiled;

    /// <summary>The number of the run's first event in this service.</summary>
    public long FirstId { get; } = firstId;

    public DateTimeOffset Submitted { get; } = DateTimeOffset.UtcNow;

    /// <summary>The run's status: <c>running</c> until it ends, then its result's (<c>failed</c> should the engine
    /// itself fail).</summary>
    public string Status => Flow.Completion.Status switch
    {
        TaskStatus.RanToCompletion => Flow.Completion.Result.Status.ToString().ToLowerInvariant(),
        TaskStatus.Faulted or TaskStatus.Canceled => "failed",
        _ => "running",
    };

    /// <summary>Whether the run's events have ended; by then its result is there too.</summary>
    public bool Ended
    {
        get
        {
            lock (_gate)
            {
                return _ended;
            }
        }
    }

    /// <summary>The number of the last event so far (<see cref="FirstId"/> − 1 before the first).</summary>
    public long LastId
    {
        get
        {
            lock (_gate)
            {
                return FirstId - 1 + _events.Count;
            }
        }
    }

    /// <summary>The tasks that have finished, counted by status.</summary>
    public Dictionary<string, int> Finished
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<string, int>(_finished, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>Events after number <paramref name="after"/> (an id of this run's stream, or one of its earlier start,
    /// which gives all of them), whether the run's events have ended, and a task that completes when there are more.</summary>
    public (RunEvent[] Events, bool Ended, Task More) After(long after)
    {
        lock (_gate)
        {
            var from = (int)Math.Clamp(after - (FirstId - 1), 0, _events.Count);
            return ([.. _events.Skip(from)], _ended, _more.Task);
        }
    }

    /// <summary>A task of the run, as its events have it: status, attempts so far, its latest output line; null for a
    /// task the plan does not have.</summary>
    public TaskNow? Task(string taskId)
    {
        lock (_gate)
        {
            if (_tasks.TryGetValue(taskId, out var known))
            {
                return known;
            }
        }

        return Compiled.Definition.Tasks.Any(t => t.Id == taskId) ? new TaskNow("pending", 0, null) : null;
    }

    /// <summary>Reads the run's event stream into the list, on its own, for the run's life. The end is published once
    /// the run's result is there, so that a client that sees the end reads the result, not "running".</summary>
    public void Pump() => _ = System.Threading.Tasks.Task.Run(async () =>
    {
        try
        {
            await foreach (var e in Flow.ReadEventsAsync().ConfigureAwait(false))
            {
                Publish(() => Take(e));
            }
        }
        finally
        {
            try
            {
                await Flow.Completion.ConfigureAwait(false);
            }
#pragma warning disable CA1031 // An engine fault is the run's status (failed); the stream still ends.
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            Publish(() => _ended = true);
        }
    });

    private void Take(RunEvent e)
    {
        _events.Add(e);
        if (e.TaskId is not { } id)
        {
            return;
        }

        var now = _tasks.TryGetValue(id, out var known) ? known : new TaskNow("pending", 0, null);
        _tasks[id] = e.Kind switch
        {
            RunEventKind.TaskQueued => now with { Status = "queued" },
            RunEventKind.TaskStarted => now with { Status = "running", Attempts = now.Attempts + 1 },
            RunEventKind.TaskRetrying => now with { Status = "retrying" },
            RunEventKind.TaskRequeued => now with { Status = "queued" },
            RunEventKind.TaskOutput => now with { Line = e.Message },
            RunEventKind.TaskFinished => now with { Status = e.Status?.ToName() ?? now.Status },
            _ => now,
        };
        if (e.Kind == RunEventKind.TaskFinished && e.Status is { } status)
        {
            _finished[status.ToName()] = _finished.GetValueOrDefault(status.ToName()) + 1;
        }
    }

    private void Publish(Action change)
    {
        TaskCompletionSource woken;
        lock (_gate)
        {
            change();
            woken = _more;
            _more = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        woken.TrySetResult();
    }
}

/// <summary>A task of a run that is going, as its events say.</summary>
/// <param name="Status">Its status: <c>pending</c>, <c>queued</c>, <c>running</c>, <c>retrying</c>, or a final one.</param>
/// <param name="Attempts">Its attempts so far.</param>
/// <param name="Line">Its latest output line.</param>
internal sealed record TaskNow(string Status, int Attempts, string? Line);
