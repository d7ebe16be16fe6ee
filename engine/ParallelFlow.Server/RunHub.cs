using System.Collections.Concurrent;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Server;

/// <summary>The runs this service started, each with every event it has sent so far, numbered from 1, so that a
/// client that reconnects with <c>Last-Event-ID</c> misses nothing.</summary>
internal sealed class RunHub(ServeSettings settings)
{
    private readonly ConcurrentDictionary<string, HubRun> _runs = new(StringComparer.Ordinal);

    public HubRun Add(FlowRun flow, string plan, CompiledPlan compiled)
    {
        var run = new HubRun(flow, plan, compiled);
        _runs[flow.RunId] = run;
        run.Pump();
        Forget();
        return run;
    }

    /// <summary>Lets go of the events of the oldest finished runs beyond the number kept, so that a service that runs for
    /// months does not hold every event it ever sent; their reports stay in the journal.</summary>
    private void Forget()
    {
        var finished = _runs.Values.Where(r => r.Flow.Completion.IsCompleted).ToList();
        foreach (var old in finished.OrderBy(r => r.Submitted).Take(finished.Count - settings.KeepFinishedRuns))
        {
            _runs.TryRemove(KeyValuePair.Create(old.Flow.RunId, old));
        }
    }

    public HubRun? Find(string runId) => _runs.TryGetValue(runId, out var run) ? run : null;

    public IReadOnlyCollection<HubRun> Runs => [.. _runs.Values];
}

/// <summary>One run and its events.</summary>
internal sealed class HubRun(FlowRun flow, string plan, CompiledPlan compiled)
{
    private readonly Lock _gate = new();
    private readonly List<RunEvent> _events = [];
    private TaskCompletionSource _more = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _ended;

    public FlowRun Flow { get; } = flow;

    public string Plan { get; } = plan;

    /// <summary>The plan as it runs: its tasks and their dependencies.</summary>
    public CompiledPlan Compiled { get; } = compiled;

    /// <summary>The run's status: <c>running</c> until it ends, then its result's.</summary>
    public string Status => Flow.Completion.IsCompletedSuccessfully ? Flow.Completion.Result.Status.ToString().ToLowerInvariant() : "running";

    /// <summary>A task of a run that is going, from its events: status, attempts so far, its latest output line.</summary>
    public (string Status, int Attempts, string? Line)? TaskNow(string taskId)
    {
        if (!Compiled.Definition.Tasks.Any(t => t.Id == taskId))
        {
            return null;
        }

        var (status, attempts, line) = ("pending", 0, (string?)null);
        foreach (var e in After(0).Events)
        {
            if (e.TaskId != taskId)
            {
                continue;
            }

            switch (e.Kind)
            {
                case RunEventKind.TaskQueued:
                    status = "queued";
                    break;
                case RunEventKind.TaskStarted:
                    (status, attempts) = ("running", attempts + 1);
                    break;
                case RunEventKind.TaskRetrying:
                    status = "retrying";
                    break;
                case RunEventKind.TaskOutput:
                    line = e.Message;
                    break;
                case RunEventKind.TaskFinished:
                    status = e.Status?.ToName() ?? status;
                    break;
            }
        }

        return (status, attempts, line);
    }

    public DateTimeOffset Submitted { get; } = DateTimeOffset.UtcNow;

    /// <summary>Events after number <paramref name="after"/> (1-based numbers), whether the run's events have ended,
    /// and a task that completes when there are more.</summary>
    public (RunEvent[] Events, bool Ended, Task More) After(long after)
    {
        lock (_gate)
        {
            var from = (int)Math.Clamp(after, 0, _events.Count);
            return ([.. _events.Skip(from)], _ended, _more.Task);
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _events.Count;
            }
        }
    }

    /// <summary>Reads the run's event stream into the list, on its own, for the run's life.</summary>
    public void Pump() => _ = Task.Run(async () =>
    {
        try
        {
            await foreach (var e in Flow.ReadEventsAsync().ConfigureAwait(false))
            {
                Publish(() => _events.Add(e));
            }
        }
        finally
        {
            Publish(() => _ended = true);
        }
    });

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
