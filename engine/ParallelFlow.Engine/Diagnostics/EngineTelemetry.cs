using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Diagnostics;

/// <summary>
/// The engine's one <see cref="ActivitySource"/> and one <see cref="Meter"/>, both named <c>ParallelFlow</c>
/// (<see cref="ParallelFlowTelemetry"/>): the spans of runs, tasks, attempts and the calls a vote makes, and the
/// engine's metrics. Everything here costs a flag check when nobody listens.
/// </summary>
/// <remarks>
/// <para>Spans: <c>parallelflow.run</c> (plan, run, strategy, workers, status) parents one <c>parallelflow.task</c> per
/// task that ran, which parents one span per attempt; retries are events on the task's span, budget waits events on
/// the run's. An attempt of a model call (<c>llm</c>, <c>embed</c>, or any worker whose result names a model) follows
/// the OpenTelemetry GenAI conventions: it is named <c>{operation} {model}</c>, is a client span, and carries
/// <c>gen_ai.operation.name</c>, <c>gen_ai.request.model</c>, <c>gen_ai.response.model</c> and token usage.</para>
/// <para>No attribute holds a task's output or an input's value; errors and decision rationales are redacted by the
/// caller, like everything else a run reports.</para>
/// </remarks>
internal static class EngineTelemetry
{
    public const string Name = "ParallelFlow";

    private static readonly string Version = typeof(EngineTelemetry).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Buckets for durations from a millisecond to an hour, in seconds.</summary>
    private static readonly double[] Buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

    public static readonly ActivitySource Source = new(Name, Version);

    /// <summary>A vote's rationale is the scorer's text, which may quote candidates: an attribute keeps its start only.</summary>
    private const int RationaleShown = 500;

    private static readonly Meter Meter = new(Name, Version);

    private static readonly Counter<long> TasksFinished = Meter.CreateCounter<long>(
        "parallelflow.tasks.finished", "{task}", "Tasks that reached a final status, by worker type and status.");

    private static readonly Histogram<double> TaskDuration = Meter.CreateHistogram(
        "parallelflow.task.duration", "s", "Time from a task's first attempt to its end, retry delays included.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Buckets });

    private static readonly Histogram<double> QueueWait = Meter.CreateHistogram(
        "parallelflow.task.queue_wait", "s", "Time a task waited for a worker once its dependencies were done.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Buckets });

    private static readonly Counter<long> Tokens = Meter.CreateCounter<long>(
        "parallelflow.tokens.used", "{token}", "Model tokens the tasks used, by worker type and gen_ai.token.type (input, output).");

    private static readonly Counter<double> Cost = Meter.CreateCounter<double>(
        "parallelflow.cost.spent", "{cost}", "Money the tasks spent, in the unit of the run's budget, by worker type.");

    private static readonly ConcurrentDictionary<IRunGauges, byte> LiveRuns = new();

    private static readonly ObservableUpDownCounter<int> Running = Meter.CreateObservableUpDownCounter(
        "parallelflow.tasks.running", static () => Sum(static run => run.RunningTasks), "{task}", "Tasks running now, across the process's runs.");

    private static readonly ObservableUpDownCounter<int> Ready = Meter.CreateObservableUpDownCounter(
        "parallelflow.tasks.ready", static () => Sum(static run => run.ReadyTasks), "{task}", "Tasks whose dependencies are done, waiting for a worker (the ready queue's depth), across the process's runs.");

    private static readonly ObservableUpDownCounter<int> ActiveRuns = Meter.CreateObservableUpDownCounter(
        "parallelflow.runs.active", static () => LiveRuns.Count, "{run}", "Runs in progress.");

    /// <summary>Whether anyone listens to the engine's spans.</summary>
    public static bool IsTracing => Source.HasListeners();

    /// <summary>Whether anyone measures queue waits: a run keeps ready times only then (or for its timeline).</summary>
    public static bool MeasuresQueueWait => QueueWait.Enabled;

    /// <summary>Whether anyone measures finished tasks (<see cref="TaskFinished"/>): a step spares the arguments when not.</summary>
    public static bool MeasuresTasks
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        get => TasksFinished.Enabled || TaskDuration.Enabled || Tokens.Enabled || Cost.Enabled;
    }

    /// <summary>Whether a run should report its gauges (running, ready).</summary>
    public static bool MeasuresGauges => Running.Enabled || Ready.Enabled || ActiveRuns.Enabled;

    /// <summary>Counts a run in the process's gauges until <see cref="RunEnded"/>.</summary>
    public static void RunBegan(IRunGauges run) => LiveRuns.TryAdd(run, 0);

    /// <summary>Takes a run out of the gauges.</summary>
    public static void RunEnded(IRunGauges run) => LiveRuns.TryRemove(run, out _);

    private static int Sum(Func<IRunGauges, int> value)
    {
        var sum = 0;
        foreach (var run in LiveRuns.Keys)
        {
            sum += value(run);
        }

        return sum;
    }

    /// <summary>Starts a run's span under <paramref name="parent"/> (the activity current where the run was made); the
    /// current activity is left as it was, since the run goes on on other threads.</summary>
    public static Activity? StartRun(ActivityContext parent, string planId, string runId, string strategy, int workers, int tasks)
    {
        if (!IsTracing)
        {
            return null;
        }

        var previous = Activity.Current;
        var activity = Source.StartActivity("parallelflow.run", ActivityKind.Internal, parent);
        Activity.Current = previous;
        if (activity is { IsAllDataRequested: true })
        {
            activity.DisplayName = $"run {planId}";
            activity.SetTag("parallelflow.plan.id", planId);
            activity.SetTag("parallelflow.run.id", runId);
            activity.SetTag("parallelflow.strategy", strategy);
            activity.SetTag("parallelflow.workers", workers);
            activity.SetTag("parallelflow.tasks", tasks);
        }

        return activity;
    }

    /// <summary>Ends a run's span with its status and counts.</summary>
    public static void EndRun(Activity? activity, string status, IEnumerable<KeyValuePair<string, int>> counts)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("parallelflow.status", status);
        foreach (var (name, count) in counts)
        {
            activity.SetTag($"parallelflow.tasks.{name}", count);
        }

        if (status != "succeeded")
        {
            activity.SetStatus(ActivityStatusCode.Error, $"the run {status}");
        }

        var previous = Activity.Current;
        activity.Stop();
        Activity.Current = previous == activity ? activity.Parent : previous;
    }

    /// <summary>Starts a task's span under its run's, whatever the current activity of the thread that starts it.</summary>
    public static Activity? StartTask(Activity? run, string runId, string taskId, string worker, int wave)
    {
        if (run is null)
        {
            return null;
        }

        var activity = Source.StartActivity("parallelflow.task", ActivityKind.Internal, run.Context);
        if (activity is { IsAllDataRequested: true })
        {
            activity.DisplayName = $"task {taskId}";
            activity.SetTag("parallelflow.run.id", runId);
            activity.SetTag("parallelflow.task.id", taskId);
            activity.SetTag("parallelflow.worker", worker);
            activity.SetTag("parallelflow.wave", wave);
        }

        return activity;
    }

    /// <summary>Ends a task's span with its final status, attempts and, for a vote or a section task, the decision.</summary>
    public static void EndTask(Activity? activity, string status, int attempts, string? failureKind, string? error, TaskResult? result)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("parallelflow.task.status", status);
        activity.SetTag("parallelflow.task.attempts", attempts);
        activity.SetTag("parallelflow.task.cached", status == "cached");
        if (failureKind is not null)
        {
            activity.SetTag("parallelflow.task.failure_kind", failureKind);
            activity.SetStatus(ActivityStatusCode.Error, error);
        }

        if (result?.Record is { ValueKind: JsonValueKind.Object } record)
        {
            TagDecision(activity, record);
        }

        if (result is not null)
        {
            TagUsage(activity, result.Usage);
        }
    }

    /// <summary>A retry, as an event on the task's span.</summary>
    public static void Retrying(Activity? task, int nextAttempt, TimeSpan delay, string error)
    {
        task?.AddEvent(new ActivityEvent("retry", tags: new ActivityTagsCollection
        {
            ["parallelflow.attempt"] = nextAttempt,
            ["parallelflow.retry.delay_s"] = delay.TotalSeconds,
            ["exception.message"] = error,
        }));
    }

    /// <summary>An attempt sent again to another executor after its own was lost, as an event on the task's span.</summary>
    public static void Requeued(Activity? task, int attempt, string reason) =>
        task?.AddEvent(new ActivityEvent("requeued", tags: new ActivityTagsCollection
        {
            ["parallelflow.attempt"] = attempt,
            ["parallelflow.requeue.reason"] = reason,
        }));

    /// <summary>A task that waits because the budget cannot cover it yet, as an event on the run's span.</summary>
    /// <summary>The adaptive pool changed size: an event on the run's span.</summary>
    public static void PoolResized(Activity? run, int from, int to, string reason) =>
        run?.AddEvent(new ActivityEvent("pool_resized", tags: new ActivityTagsCollection
        {
            ["parallelflow.pool.from"] = from,
            ["parallelflow.pool.to"] = to,
            ["parallelflow.pool.reason"] = reason,
        }));

    public static void BudgetWait(Activity? run, string taskId, string shortfall) =>
        run?.AddEvent(new ActivityEvent("budget_wait", tags: new ActivityTagsCollection
        {
            ["parallelflow.task.id"] = taskId,
            ["parallelflow.budget.shortfall"] = shortfall,
        }));

    /// <summary>Starts one attempt's span (or one call a stage makes through its task services) as a child of the
    /// current activity: the worker's own spans — an HTTP call to a model — nest under it.</summary>
    public static Activity? StartAttempt(string taskId, string worker, string? operation, int attempt, JsonElement with)
    {
        if (!IsTracing)
        {
            return null;
        }

        var model = operation is null ? null : ModelOf(with);
        var activity = Source.StartActivity(
            operation is null ? "parallelflow.attempt" : model is null ? operation : $"{operation} {model}",
            operation is null ? ActivityKind.Internal : ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("parallelflow.task.id", taskId);
            activity.SetTag("parallelflow.worker", worker);
            activity.SetTag("parallelflow.attempt", attempt);
            if (operation is not null)
            {
                activity.SetTag("gen_ai.operation.name", operation);
                activity.SetTag("gen_ai.request.model", model);
            }
        }

        return activity;
    }

    /// <summary>Ends an attempt's span with its outcome.</summary>
    public static void EndAttempt(Activity? activity, TaskResult? result, string? failureKind, string? error)
    {
        if (activity is null)
        {
            return;
        }

        if (failureKind is not null)
        {
            activity.SetTag("parallelflow.attempt.status", failureKind == "timeout" ? "timed_out" : "failed");
            activity.SetTag("parallelflow.task.failure_kind", failureKind);
            activity.SetTag("error.type", failureKind);
            activity.SetStatus(ActivityStatusCode.Error, error);
        }
        else
        {
            activity.SetTag("parallelflow.attempt.status", "succeeded");
        }

        if (result is not null)
        {
            if (result.Model is not null)
            {
                if (activity.GetTagItem("gen_ai.operation.name") is null)
                {
                    activity.SetTag("gen_ai.operation.name", "chat");
                }

                activity.SetTag("gen_ai.response.model", result.Model);
                if (activity.GetTagItem("gen_ai.operation.name") is string operation && activity.DisplayName == operation)
                {
                    // The task named no model and the worker used its default: the span is named as the conventions
                    // say, after the model that answered.
                    activity.DisplayName = $"{operation} {result.Model}";
                }

                if (activity.GetTagItem("gen_ai.request.model") is null)
                {
                    activity.SetTag("gen_ai.request.model", result.Model);
                }
            }

            TagUsage(activity, result.Usage);
        }

        activity.Dispose();
    }

    /// <summary>A task reached a final status.</summary>
    public static void TaskFinished(string worker, string status, TimeSpan duration, TaskUsage usage)
    {
        if (TasksFinished.Enabled)
        {
            TasksFinished.Add(1, new KeyValuePair<string, object?>("parallelflow.worker", worker), new KeyValuePair<string, object?>("parallelflow.task.status", status));
        }

        if (TaskDuration.Enabled && duration > TimeSpan.Zero)
        {
            TaskDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("parallelflow.worker", worker), new KeyValuePair<string, object?>("parallelflow.task.status", status));
        }

        if (Tokens.Enabled)
        {
            if (usage.InputTokens > 0)
            {
                Tokens.Add(usage.InputTokens, new KeyValuePair<string, object?>("parallelflow.worker", worker), new KeyValuePair<string, object?>("gen_ai.token.type", "input"));
            }

            if (usage.OutputTokens > 0)
            {
                Tokens.Add(usage.OutputTokens, new KeyValuePair<string, object?>("parallelflow.worker", worker), new KeyValuePair<string, object?>("gen_ai.token.type", "output"));
            }
        }

        if (Cost.Enabled && usage.Cost > 0)
        {
            Cost.Add((double)usage.Cost, new KeyValuePair<string, object?>("parallelflow.worker", worker));
        }
    }

    /// <summary>A task waited this long for a worker.</summary>
    public static void Waited(string worker, TimeSpan wait)
    {
        if (QueueWait.Enabled)
        {
            QueueWait.Record(wait.TotalSeconds, new KeyValuePair<string, object?>("parallelflow.worker", worker));
        }
    }

    private static string? ModelOf(JsonElement with) =>
        with.ValueKind == JsonValueKind.Object && with.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String ? model.GetString() : null;

    private static void TagUsage(Activity activity, TaskUsage usage)
    {
        if (usage.InputTokens > 0 || usage.OutputTokens > 0)
        {
            activity.SetTag("gen_ai.usage.input_tokens", usage.InputTokens);
            activity.SetTag("gen_ai.usage.output_tokens", usage.OutputTokens);
        }

        if (usage.Cost > 0)
        {
            activity.SetTag("parallelflow.usage.cost", (double)usage.Cost);
        }
    }

    /// <summary>A vote's or a section task's decision, summarised: who won and why; how many sections merged, and
    /// what needs a person.</summary>
    private static void TagDecision(Activity activity, JsonElement record)
    {
        var kind = Text(record, "kind");
        switch (kind)
        {
            case "vote":
                activity.SetTag("parallelflow.vote.winner", Text(record, "winner"));
                activity.SetTag("parallelflow.vote.scorer", Text(record, "scorer"));
                var rationale = Text(record, "rationale");
                activity.SetTag("parallelflow.vote.rationale", rationale?.Length > RationaleShown ? rationale[..RationaleShown] + "…" : rationale);
                activity.SetTag("parallelflow.vote.candidates", record.TryGetProperty("candidates", out var candidates) && candidates.ValueKind == JsonValueKind.Array ? candidates.GetArrayLength() : 0);
                activity.SetTag("parallelflow.vote.succeeded", Number(record, "succeeded"));
                activity.SetTag("parallelflow.vote.decided_early", record.TryGetProperty("decided_early", out var early) && early.ValueKind == JsonValueKind.True);
                break;
            case "section":
                activity.SetTag("parallelflow.section.merger", Text(record, "merger"));
                activity.SetTag("parallelflow.section.sections", Number(record, "sections"));
                activity.SetTag("parallelflow.section.succeeded", Number(record, "succeeded"));
                activity.SetTag("parallelflow.section.failed", Number(record, "failed"));
                activity.SetTag("parallelflow.section.conflicts", Length(record, "conflicts"));
                activity.SetTag("parallelflow.section.manual_review", Length(record, "manual_review_required"));
                break;
        }
    }

    private static string? Text(JsonElement record, string name) =>
        record.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    // Counts, as integers like the other counts on the span.
    private static long? Number(JsonElement record, string name) =>
        record.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var count) ? count : null;

    private static int Length(JsonElement record, string name) =>
        record.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array ? value.GetArrayLength() : 0;
}

/// <summary>What a live run tells the process's gauges. Read without the run's lock: a gauge may be a step behind.</summary>
internal interface IRunGauges
{
    /// <summary>Tasks running now.</summary>
    int RunningTasks { get; }

    /// <summary>Tasks ready and waiting for a worker.</summary>
    int ReadyTasks { get; }
}
