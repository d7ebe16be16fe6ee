using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Reporting;
using ParallelFlow.Hosting;

namespace ParallelFlow.Server;

/// <summary>
/// The engine as Model Context Protocol tools, for coding agents: run a plan or a sectioning/voting request, follow it
/// with progress notifications, read its report and a task's output, cancel it. The same launcher as the HTTP API, so
/// the same validation, allow-list, pool and journal; over HTTP (<c>/mcp</c>) the same token.
/// </summary>
[McpServerToolType]
internal sealed class McpTools(RunLauncher launcher, PlanRegistry plans)
{
    /// <summary>The most results a tool's answer lists; the rest are counted, and <c>get_task</c> gives each.</summary>
    private const int ListedResults = 100;

    /// <summary>The longest output a result carries in full; longer ones are cut, and <c>get_task</c> gives them whole.</summary>
    private const int OutputChars = 4000;

    [McpServerTool(Name = "list_plans", ReadOnly = true, Title = "List plans")]
    [Description("The plans this service runs by name (serve --plans DIR), with their inputs: type, whether required, default.")]
    public CallToolResult ListPlans() => Answer(() => new JsonArray([.. plans.Names.Select(name =>
    {
        plans.TryGet(name, out var plan);
        return (JsonNode)new JsonObject
        {
            ["id"] = name,
            ["plan_id"] = plan.Definition.Id,
            ["tasks"] = plan.Definition.Tasks.Count,
            ["description"] = plan.Definition.Description,
            ["inputs"] = new JsonObject(plan.Definition.Inputs.Values.Select(i => KeyValuePair.Create(i.Name, (JsonNode?)new JsonObject
            {
                ["type"] = i.Type.ToString().ToLowerInvariant(),
                ["required"] = i.IsRequired,
                ["default"] = i.Default is { } d ? JsonNode.Parse(d.GetRawText()) : null,
                ["description"] = i.Description,
            }))),
        };
    })]));

    [McpServerTool(Name = "run_plan", Title = "Run a plan")]
    [Description("Runs a plan: the name of one of list_plans, or a whole plan as a JSON object (id, tasks with id, worker, with, depends_on). " +
        "With wait (the default) it returns when the run ends, with each task's status and output, and sends a progress notification as tasks finish; " +
        "cancelling the call cancels the run. With wait false it returns the run id at once (follow it with get_run).")]
    public Task<CallToolResult> RunPlan(
        [Description("A registered plan's name, or a plan as a JSON object.")] JsonElement plan,
        [Description("The plan's inputs, by name.")] Dictionary<string, JsonElement>? inputs = null,
        [Description("The scheduling strategy (default: the plan's).")] string? strategy = null,
        [Description("How many tasks run at once (default: the plan's).")] int? workers = null,
        [Description("Wait for the run to end (default true).")] bool wait = true,
        RequestContext<CallToolRequestParams>? context = null,
        CancellationToken cancellationToken = default) =>
        AnswerAsync(() => StartAsync(new SubmitRequest(plan, inputs, strategy, workers), wait, Notifier(context), cancellationToken));

    [McpServerTool(Name = "run_request", Title = "Run a sectioning or voting request")]
    [Description("Runs a request in the parallel task executors' format: mode 'sectioning' (main_task.components run in parallel, then merged, with conflicts reported) " +
        "or mode 'voting' (voters answer main_task.description, scored on evaluation_criteria, aggregation picks a winner and says why). " +
        "The answer carries the decision. Waits as run_plan does.")]
    public Task<CallToolResult> RunRequest(
        [Description("The request: { task_id, mode: 'sectioning' | 'voting', main_task: { description, components | evaluation_criteria }, voters, aggregation, worker, with, timeout_seconds }.")] JsonElement request,
        [Description("Wait for the run to end (default true).")] bool wait = true,
        RequestContext<CallToolRequestParams>? context = null,
        CancellationToken cancellationToken = default)
    {
        var mode = request.ValueKind == JsonValueKind.Object && request.TryGetProperty("mode", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        return mode is "sectioning" or "voting"
            ? AnswerAsync(() => StartAsync(new SubmitRequest(request, null, null, null), wait, Notifier(context), cancellationToken))
            : Task.FromResult(Refused($"request: mode must be 'sectioning' or 'voting'{(mode is null ? string.Empty : $", not '{mode}'")}; for a plan, use run_plan"));
    }

    [McpServerTool(Name = "get_run", ReadOnly = true, Title = "A run's status and report")]
    [Description("A run's status; once it has ended, its report: summary figures (speedup, utilization, critical path), each task's status and output, vote and section decisions.")]
    public CallToolResult GetRun([Description("The run's id.")] string run_id) => Answer(() => Run(run_id));

    private JsonObject Run(string run_id) => launcher.Find(run_id) switch
    {
        { Report: { } report } => Trim(report),
        { Going: { } run } => Going(run),
        _ => throw new McpException($"no run '{run_id}'"),
    };

    [McpServerTool(Name = "get_task", ReadOnly = true, Title = "A task's output")]
    [Description("One task of a run: status, attempts, duration, its whole output and error.")]
    public CallToolResult GetTask([Description("The run's id.")] string run_id, [Description("The task's id.")] string task_id) => Answer(() => TaskOf(run_id, task_id));

    private JsonObject TaskOf(string run_id, string task_id) => launcher.Task(run_id, task_id) is { } task
        ? new JsonObject { ["id"] = task.Id, ["status"] = task.Status, ["attempts"] = task.Attempts, ["duration"] = task.Duration, ["output"] = task.Output, ["error"] = task.Error }
        : throw new McpException($"no task '{task_id}' in a run '{run_id}'");

    [McpServerTool(Name = "cancel_run", Destructive = true, Idempotent = false, Title = "Cancel a run")]
    [Description("Cancels a run: running tasks are stopped, the rest do not start. Returns when the run has ended, with its report.")]
    public Task<CallToolResult> CancelRun([Description("The run's id.")] string run_id, CancellationToken cancellationToken = default) => AnswerAsync(async () =>
    {
        var run = Refusable(() => launcher.Cancel(run_id));
        return Report(await run.Flow.Completion.WaitAsync(cancellationToken).ConfigureAwait(false));
    });

    [McpServerTool(Name = "list_runs", ReadOnly = true, Title = "List runs")]
    [Description("The runs of this service, newest first: id, plan, status.")]
    public CallToolResult ListRuns() => Answer(Runs);

    private JsonArray Runs() =>
        [.. launcher.Runs().Take(200).Select(r => (JsonNode)new JsonObject { ["run_id"] = r.RunId, ["plan"] = r.Plan, ["status"] = r.Status })];

    /// <summary>Sends the caller's progress notifications, awaited, so that the last one goes out before the answer (an
    /// <see cref="IProgress{T}"/> sends them without waiting, and a client drops one that comes after); null when the
    /// caller asked for none.</summary>
    private static Func<ProgressNotificationValue, Task>? Notifier(RequestContext<CallToolRequestParams>? context) =>
        context?.Params?.ProgressToken is { } token
            ? value => context.Server.NotifyProgressAsync(token, value)
            : null;

    private async Task<JsonObject> StartAsync(SubmitRequest request, bool wait, Func<ProgressNotificationValue, Task>? progress, CancellationToken cancellationToken)
    {
        var run = Refusable(() => launcher.Submit(request));
        if (!wait)
        {
            return new JsonObject { ["run_id"] = run.Flow.RunId, ["plan"] = run.Plan, ["status"] = "running", ["tasks"] = run.Compiled.Definition.Tasks.Count };
        }

        // The caller gave up: so does the run.
        await using var cancel = cancellationToken.Register(run.Flow.Cancel);
        if (progress is not null)
        {
            await ReportProgressAsync(run, progress).ConfigureAwait(false);
        }

        return Report(await run.Flow.Completion.ConfigureAwait(false));
    }

    /// <summary>A notification as tasks finish, at most ten a second, the last always: how many of how many, and which.</summary>
    private static async Task ReportProgressAsync(HubRun run, Func<ProgressNotificationValue, Task> progress)
    {
        var total = run.Compiled.Definition.Tasks.Count;
        var (seen, finished, sent) = (run.FirstId - 1, 0, DateTimeOffset.MinValue);
        string? latest = null;
        while (true)
        {
            var (events, ended, more) = run.After(seen);
            seen += events.Length;
            foreach (var e in events.Where(e => e.Kind == RunEventKind.TaskFinished))
            {
                finished++;
                latest = $"{e.TaskId} {e.Status?.ToName()} ({finished}/{total})";
            }

            if (latest is not null && (ended || DateTimeOffset.UtcNow - sent >= TimeSpan.FromMilliseconds(100)))
            {
                try
                {
                    await progress(new ProgressNotificationValue { Progress = finished, Total = total, Message = latest }).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // A note that could not be sent (the caller went away) does not change the run.
                catch (Exception)
#pragma warning restore CA1031
                {
                }

                (latest, sent) = (null, DateTimeOffset.UtcNow);
            }

            if (ended)
            {
                return;
            }

            await (latest is null ? more : Task.WhenAny(more, Task.Delay(100))).ConfigureAwait(false);
        }
    }

    private static HubRun Refusable(Func<HubRun> action)
    {
        try
        {
            return action();
        }
        catch (RunRefusedException ex)
        {
            throw new McpException(ex.Text);
        }
    }

    /// <summary>A tool's answer as JSON text; a refusal (an unknown run, a plan with errors, a worker off the list) as an
    /// error result the agent reads, not as an exception the server logs with its stack.</summary>
    private static CallToolResult Answer(Func<JsonNode> tool)
    {
        try
        {
            return new CallToolResult { Content = [new TextContentBlock { Text = tool().ToJsonString() }] };
        }
        catch (McpException ex)
        {
            return Refused(ex.Message);
        }
    }

    private static async Task<CallToolResult> AnswerAsync(Func<Task<JsonObject>> tool)
    {
        try
        {
            return new CallToolResult { Content = [new TextContentBlock { Text = (await tool().ConfigureAwait(false)).ToJsonString() }] };
        }
        catch (McpException ex)
        {
            return Refused(ex.Message);
        }
#pragma warning disable CA1031 // A run the engine itself failed: said to the agent, which can do nothing else with it.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            return Refused($"the run failed in the engine: {ex.Message}");
        }
    }

    private static CallToolResult Refused(string text) => new() { IsError = true, Content = [new TextContentBlock { Text = text }] };

    private static JsonObject Report(RunResult result) => Trim(RunReport.ToDocument(result));

    /// <summary>A report an agent can read at once: the first results, each output cut to a few thousand characters.</summary>
    private static JsonObject Trim(JsonDocument document)
    {
        JsonObject report;
        using (document)
        {
            report = JsonNode.Parse(document.RootElement.GetRawText())!.AsObject();
        }

        if (report["results"] is JsonArray results)
        {
            var kept = new JsonArray();
            foreach (var item in results.Take(ListedResults))
            {
                var task = item!.DeepClone().AsObject();
                task.Remove("attempt_log");
                if (task["output"] is JsonValue output && output.GetValueKind() == JsonValueKind.String && output.GetValue<string>() is { Length: > OutputChars } text)
                {
                    task["output"] = text[..OutputChars] + $"… ({text.Length} characters: get_task gives it whole)";
                }

                kept.Add(task);
            }

            report["results"] = kept;
            if (results.Count > ListedResults)
            {
                report["results_not_listed"] = results.Count - ListedResults;
            }
        }

        return report;
    }

    private static JsonObject Going(HubRun run)
    {
        return new JsonObject
        {
            ["run_id"] = run.Flow.RunId,
            ["plan"] = run.Plan,
            ["status"] = run.Status,
            ["tasks"] = run.Compiled.Definition.Tasks.Count,
            ["finished"] = new JsonObject(run.Finished.Select(g => KeyValuePair.Create(g.Key, (JsonNode?)g.Value))),
        };
    }
}
