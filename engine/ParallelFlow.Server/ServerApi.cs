using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Reporting;
using ParallelFlow.Hosting;
using ParallelFlow.Journal;

namespace ParallelFlow.Server;

/// <summary>What a client sends to start a run of a registered plan.</summary>
/// <param name="Plan">The name of a registered plan, or a plan itself (as a plan file has it).</param>
/// <param name="Inputs">The values of the plan's inputs.</param>
/// <param name="Strategy">The scheduling strategy, if not the plan's.</param>
/// <param name="Workers">The worker count, if not the plan's.</param>
internal sealed record SubmitRequest(JsonElement Plan, Dictionary<string, JsonElement>? Inputs, string? Strategy, int? Workers);

/// <summary>The service's HTTP API: runs of the registered plans, their events as Server-Sent Events, cancel.</summary>
internal static class ServerApi
{
    public static void MapParallelFlowApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/plans", (PlanRegistry plans) => plans.Names.Select(name =>
        {
            plans.TryGet(name, out var plan);
            return new
            {
                id = name,
                plan_id = plan.Definition.Id,
                tasks = plan.Definition.Tasks.Count,
                description = plan.Definition.Description,
                inputs = plan.Definition.Inputs.Values.ToDictionary(i => i.Name, i => new { type = i.Type.ToString().ToLowerInvariant(), required = i.IsRequired, @default = i.Default, description = i.Description }),
            };
        }));

        app.MapPost("/runs", Submit);
        app.MapGet("/runs", List);
        app.MapGet("/runs/{id}", Report);
        app.MapGet("/runs/{id}/events", Events);
        app.MapGet("/runs/{id}/graph", Graph);
        app.MapGet("/runs/{id}/tasks/{task}", TaskOf);
        app.MapPost("/runs/{id}/resume", Resume);
        app.MapPost("/runs/{id}/cancel", (string id, RunHub hub) => hub.Find(id) switch
        {
            null => Problem(StatusCodes.Status404NotFound, $"this service is not running a run '{id}'"),
            { Flow.Completion.IsCompleted: true } => Problem(StatusCodes.Status409Conflict, $"run {id} has ended already"),
            var run => Cancel(run),
        });
    }

    /// <summary>400 with the plan's errors as the command line gives them: code, line and column in the plan, task, message.</summary>
    private static IResult Invalid(string title, PlanValidationException ex)
    {
        var errors = ex.Errors.Where(e => !e.IsWarning).ToList();
        return Results.Problem(
            title: title,
            detail: string.Join("\n", errors.Select(e => $"{e.Code}{(e.Position is { } p ? $" (line {p.Line}, column {p.Column})" : string.Empty)}: {e.Message}")),
            statusCode: StatusCodes.Status400BadRequest,
            extensions: new Dictionary<string, object?> { ["errors"] = errors.Select(e => new { code = e.Code, message = e.Message, task = e.TaskId, line = e.Position?.Line, column = e.Position?.Column }).ToList() });
    }

    private static IResult Cancel(HubRun run)
    {
        run.Flow.Cancel();
        return Results.Accepted($"/runs/{run.Flow.RunId}", new { run_id = run.Flow.RunId, status = "cancelling" });
    }

    private static IResult Submit(SubmitRequest? request, PlanRegistry plans, ParallelFlowRunner runner, ParallelFlowEngine engine, RunHub hub, RemotePlans remote)
    {
        CompiledPlan plan;
        string name;
        if (request?.Plan.ValueKind == JsonValueKind.Object)
        {
            // A plan sent with the request: held to the allow-list, validated like a file, kept as one.
            if (remote.Refused(request.Plan) is { Count: > 0 } refused)
            {
                return Problem(StatusCodes.Status403Forbidden,
                    $"plans sent over HTTP may not use worker{(refused.Count == 1 ? "" : "s")} {string.Join(", ", refused.Select(w => $"'{w}'"))}; this service allows {string.Join(", ", remote.Allowed.Order(StringComparer.Ordinal))} (register the plan with --plans, or allow the worker with --allow-worker)");
            }

            try
            {
                var definition = remote.Load(request.Plan.GetRawText(), Guid.NewGuid().ToString("N"));
                plan = remote.Engine.Compile(definition);
                name = definition.Id;
            }
            catch (PlanValidationException ex)
            {
                return Invalid("the plan has errors", ex);
            }
        }
        else if (request?.Plan.ValueKind == JsonValueKind.String && request.Plan.GetString() is { Length: > 0 } registered)
        {
            if (!plans.TryGet(registered, out plan))
            {
                var close = DisplayText.Suggest(registered, plans.Names);
                return Problem(StatusCodes.Status404NotFound, $"no plan '{registered}'{(close is null ? string.Empty : $" (did you mean '{close}'?)")}; the service's plans: {string.Join(", ", plans.Names)}");
            }

            name = registered;
        }
        else
        {
            return Problem(StatusCodes.Status400BadRequest, $"the request names no plan: send {{\"plan\": NAME, \"inputs\": {{…}}}} with NAME one of {string.Join(", ", plans.Names)}, or {{\"plan\": {{ the plan }}}}");
        }

        if (request.Workers is < 1)
        {
            return Problem(StatusCodes.Status400BadRequest, $"workers: {request.Workers} is not a worker count; give 1 or more, or leave it out");
        }

        if (request.Strategy is { } strategy && engine.Catalog.StrategyProblem(strategy) is { } problem)
        {
            return Problem(StatusCodes.Status400BadRequest, $"strategy: {problem}");
        }

        FlowRun flow;
        try
        {
            flow = runner.Start(plan, new RunOptions { Inputs = request.Inputs, Strategy = request.Strategy, Workers = request.Workers, StreamEvents = true }, CancellationToken.None);
        }
        catch (PlanValidationException ex)
        {
            return Invalid("the inputs do not fit the plan", ex);
        }
        catch (ParallelFlowPoolFullException ex)
        {
            return new TooManyRuns(ex.Message);
        }

        hub.Add(flow, name, plan);
        var id = flow.RunId;
        return Results.Accepted($"/runs/{id}", new { run_id = id, plan = name, status_url = $"/runs/{id}", events_url = $"/runs/{id}/events", cancel_url = $"/runs/{id}/cancel" });
    }

    /// <summary>Continues a run the journal holds that did not finish (the service was stopped or killed, or it failed):
    /// the tasks that succeeded keep their outputs and do not run again, with the inputs it had.</summary>
    private static IResult Resume(string id, RunHub hub, ParallelFlowRunner runner, ParallelFlowEngine engine, RemotePlans remote)
    {
        if (hub.Find(id) is { Flow.Completion.IsCompleted: false })
        {
            return Problem(StatusCodes.Status409Conflict, $"run {id} is running here now");
        }

        if (runner.Journal is not { } journal)
        {
            return Problem(StatusCodes.Status409Conflict, "this service keeps no journal (serve --journal), so it has nothing to resume a run from");
        }

        if (journal.Run(id) is not { } run)
        {
            return Problem(StatusCodes.Status404NotFound, $"the journal has no run '{id}'");
        }

        switch (run.Status)
        {
            case "succeeded":
                return Problem(StatusCodes.Status409Conflict, $"run {id} succeeded already; there is nothing to resume");
            case "running":
                return Problem(StatusCodes.Status409Conflict, $"run {id} is still running in another process");
        }

        if (!File.Exists(run.PlanPath) || RunJournal.HashPlan(run.PlanPath, run.ConfigPath) != run.PlanHash)
        {
            return Problem(StatusCodes.Status409Conflict, $"the plan of run {id} is gone or has changed since it started; its recorded outputs may not fit it, so it is not resumed");
        }

        // A plan that came over HTTP resumes under the allow-list it ran under.
        var compiler = CompilerOf(run, engine, remote);
        CompiledPlan plan;
        try
        {
            var definition = compiler.LoadPlan(run.PlanPath, run.ConfigPath);
            plan = compiler.Compile(run.Only.Count > 0 ? definition.Only(run.Only) : definition);
        }
        catch (PlanValidationException ex)
        {
            return Invalid("the run's plan has errors now (a plugin it used is not loaded?)", ex);
        }

        var restored = journal.Succeeded(id);
        FlowRun flow;
        try
        {
            flow = runner.Start(plan, new RunOptions { RunId = id, Restored = restored, Inputs = run.Inputs, Workers = run.Workers, StreamEvents = true }, CancellationToken.None);
        }
        catch (ParallelFlowPoolFullException ex)
        {
            return new TooManyRuns(ex.Message);
        }

        // Its events start again from 1: a stream of the run before the resume is over.
        hub.Add(flow, plan.Definition.Id, plan);
        return Results.Accepted($"/runs/{id}", new { run_id = id, restored = restored.Count, status_url = $"/runs/{id}", events_url = $"/runs/{id}/events" });
    }

    private static IResult List(RunHub hub, IServiceProvider services, string? plan, string? status, int? page, int? page_size)
    {
        var size = Math.Clamp(page_size ?? 50, 1, 500);
        var number = Math.Max(1, page ?? 1);
        var rows = new Dictionary<string, RunRow>(StringComparer.Ordinal);
        if (Journal(services) is { } journal)
        {
            foreach (var run in journal.Runs())
            {
                rows[run.RunId] = new RunRow(run.RunId, run.PlanId, run.Status, run.StartedAt, run.FinishedAt, run.Counts);
            }
        }

        foreach (var run in hub.Runs)
        {
            var done = run.Flow.Completion.IsCompletedSuccessfully ? run.Flow.Completion.Result : null;
            rows[run.Flow.RunId] = new RunRow(run.Flow.RunId, run.Plan, run.Status, run.Submitted, done is null ? null : done.StartedAt + done.Elapsed,
                done?.Tasks.GroupBy(t => t.Status.ToName()).ToDictionary(g => g.Key, g => g.Count()) ?? new Dictionary<string, int>());
        }

        var matching = rows.Values
            .Where(r => plan is null || r.Plan == plan)
            .Where(r => status is null || r.Status == status)
            .OrderByDescending(r => r.StartedAt).ThenByDescending(r => r.RunId, StringComparer.Ordinal)
            .ToList();
        return Results.Ok(new
        {
            total = matching.Count,
            page = number,
            page_size = size,
            runs = matching.Skip((number - 1) * size).Take(size).Select(r => new { run_id = r.RunId, plan = r.Plan, status = r.Status, started_at = r.StartedAt, finished_at = r.FinishedAt, counts = r.Counts }),
        });
    }

    private static IResult Report(string id, RunHub hub, IServiceProvider services)
    {
        if (hub.Find(id) is { } run)
        {
            if (run.Flow.Completion.IsCompletedSuccessfully)
            {
                return Json(RunReport.ToDocument(run.Flow.Completion.Result));
            }

            var (events, _, _) = run.After(0);
            var finished = events.Where(e => e.Kind == RunEventKind.TaskFinished && e.Status is not null).GroupBy(e => e.Status!.Value.ToName()).ToDictionary(g => g.Key, g => g.Count());
            return Results.Ok(new { run_id = id, plan = run.Plan, status = "running", events = events.Length, finished, events_url = $"/runs/{id}/events" });
        }

        if (Journal(services)?.Report(id) is { } recorded)
        {
            return Json(recorded.Report);
        }

        return Problem(StatusCodes.Status404NotFound, $"no run '{id}'");
    }

    private static IResult TaskOf(string id, string task, RunHub hub, IServiceProvider services)
    {
        if (hub.Find(id) is { Flow.Completion.IsCompletedSuccessfully: true } done)
        {
            var result = done.Flow.Completion.Result.Tasks.FirstOrDefault(t => t.TaskId == task);
            return result is null
                ? Problem(StatusCodes.Status404NotFound, $"run {id} has no task '{task}'")
                : Results.Ok(new TaskBody(task, result.Status.ToName(), result.Attempts, result.Duration.TotalSeconds, result.Output, result.Result?.Json, result.Error));
        }

        if (Journal(services)?.Tasks(id).FirstOrDefault(t => t.TaskId == task) is { } recorded)
        {
            return Results.Ok(new TaskBody(task, recorded.Status, recorded.Attempts, recorded.DurationSeconds, recorded.Result?.Text, recorded.Result?.Json, recorded.Error));
        }

        // A task of a run that is going, not (yet) in a journal: what its events say, with its latest output line.
        if (hub.Find(id)?.TaskNow(task) is { } going)
        {
            return Results.Ok(new TaskBody(task, going.Status, going.Attempts, 0, going.Line, null, null));
        }

        return Problem(StatusCodes.Status404NotFound, $"no task '{task}' in a run '{id}'");
    }

    /// <summary>The run's tasks and their dependencies (by index into the list, both <c>depends_on</c> and <c>after</c>),
    /// for drawing it: a 10,000-task plan is a few hundred kilobytes.</summary>
    private static IResult Graph(string id, RunHub hub, IServiceProvider services, ParallelFlowEngine engine, RemotePlans remote)
    {
        if (hub.Find(id) is { } run)
        {
            return Results.Ok(new RunGraph(id, run.Plan, run.Status, Nodes(run.Compiled.Definition.Tasks)));
        }

        if (Journal(services) is not { } journal || journal.Run(id) is not { } recorded || journal.Report(id) is not { } report)
        {
            return Problem(StatusCodes.Status404NotFound, $"no run '{id}'");
        }

        using (report.Report)
        {
            // A finished run's report has the dependencies; one that was interrupted has only the tasks, so its plan gives them.
            if (!report.Complete && File.Exists(recorded.PlanPath))
            {
                try
                {
                    return Results.Ok(new RunGraph(id, recorded.PlanId, recorded.Status, Nodes(CompilerOf(recorded, engine, remote).LoadPlan(recorded.PlanPath, recorded.ConfigPath).Tasks)));
                }
                catch (PlanValidationException)
                {
                    // The plan does not load now: the tasks as the journal has them, without their dependencies.
                }
            }

            var results = report.Report.RootElement.TryGetProperty("results", out var r) ? r.EnumerateArray().ToList() : [];
            return Results.Ok(new RunGraph(id, recorded.PlanId, recorded.Status, Nodes(results.Select(t => new TaskDefinition
            {
                Id = t.GetProperty("id").GetString()!,
                Worker = t.TryGetProperty("worker", out var w) ? w.GetString() ?? string.Empty : string.Empty,
                DependsOn = [.. Ids(t, "depends_on")],
                After = [.. Ids(t, "after")],
            }).ToList())));
        }

        static IEnumerable<string> Ids(JsonElement task, string name) =>
            task.TryGetProperty(name, out var ids) ? ids.EnumerateArray().Select(i => i.GetString()!) : [];
    }

    /// <summary>The engine a recorded run's plan is read with: the restricted one for a plan that came over HTTP.</summary>
    private static ParallelFlowEngine CompilerOf(RunRecord run, ParallelFlowEngine engine, RemotePlans remote) =>
        Path.GetFullPath(run.PlanPath).StartsWith(Path.GetFullPath(remote.Folder) + Path.DirectorySeparatorChar, StringComparison.Ordinal) ? remote.Engine : engine;

    private static List<GraphNode> Nodes(IReadOnlyList<TaskDefinition> tasks)
    {
        var index = new Dictionary<string, int>(tasks.Count, StringComparer.Ordinal);
        for (var i = 0; i < tasks.Count; i++)
        {
            index[tasks[i].Id] = i;
        }

        return [.. tasks.Select(t => new GraphNode(t.Id, t.Worker, [.. t.DependsOn.Concat(t.After).Select(d => index.GetValueOrDefault(d, -1)).Where(d => d >= 0).Distinct()]))];
    }

    /// <summary>The run's events as Server-Sent Events: every event from the one after <c>Last-Event-ID</c> (or
    /// <c>?after=N</c>), then each as it happens, then an <c>end</c> event when the run has ended.</summary>
    private static async Task Events(string id, HttpContext context, RunHub hub)
    {
        if (hub.Find(id) is not { } run)
        {
            await Problem(StatusCodes.Status404NotFound, $"this service is not running a run '{id}' (the events of runs it started are kept while it runs)").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        var after = long.TryParse(context.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? context.Request.Query["after"].FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var last) ? last : 0;
        context.Response.Headers.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var aborted = context.RequestAborted;
        var buffer = new StringBuilder();
        while (!aborted.IsCancellationRequested)
        {
            var (events, ended, more) = run.After(after);
            foreach (var e in events)
            {
                after++;
                buffer.Append("id: ").Append(after.ToString(CultureInfo.InvariantCulture)).Append('\n')
                    .Append("event: ").Append(Name(e.Kind)).Append('\n')
                    .Append("data: ").Append(EventJson(e)).Append("\n\n");
            }

            // The list is whole once the run's events have ended: what it held is written, then the end.
            if (ended)
            {
                buffer.Append("event: end\ndata: {\"run_id\":").Append(JsonSerializer.Serialize(id)).Append("}\n\n");
            }

            if (buffer.Length > 0)
            {
                await context.Response.WriteAsync(buffer.ToString(), aborted).ConfigureAwait(false);
                await context.Response.Body.FlushAsync(aborted).ConfigureAwait(false);
                buffer.Clear();
            }

            if (ended)
            {
                return;
            }

            try
            {
                // A comment now and then keeps proxies from closing a quiet stream.
                await more.WaitAsync(TimeSpan.FromSeconds(15), aborted).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                await context.Response.WriteAsync(": keep-alive\n\n", aborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>An event kind as the stream names it: <c>task_started</c> for <see cref="RunEventKind.TaskStarted"/>.</summary>
    internal static string Name(RunEventKind kind)
    {
        var text = kind.ToString();
        var name = new StringBuilder(text.Length + 4);
        foreach (var c in text)
        {
            if (char.IsUpper(c) && name.Length > 0)
            {
                name.Append('_');
            }

            name.Append(char.ToLowerInvariant(c));
        }

        return name.ToString();
    }

    private static string EventJson(RunEvent e)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("kind", Name(e.Kind));
            writer.WriteString("time", e.Time);
            if (e.TaskId is not null)
            {
                writer.WriteString("task", e.TaskId);
            }

            if (e.WorkerType is not null)
            {
                writer.WriteString("worker_type", e.WorkerType);
            }

            if (e.Worker > 0)
            {
                writer.WriteNumber("worker", e.Worker);
            }

            if (e.Attempt > 0)
            {
                writer.WriteNumber("attempt", e.Attempt);
            }

            if (e.Status is { } status)
            {
                writer.WriteString("status", status.ToName());
            }

            if (e.Message is not null)
            {
                writer.WriteString("message", e.Message);
            }

            if (e.Delay is { } delay)
            {
                writer.WriteNumber("delay_seconds", delay.TotalSeconds);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static RunJournal? Journal(IServiceProvider services) => services.GetRequiredService<ParallelFlowRunner>().Journal;

    private static IResult Json(JsonDocument document) => Results.Text(document.RootElement.GetRawText(), "application/json");

    private static IResult Problem(int status, string detail) => Results.Problem(detail: detail, statusCode: status);

    /// <summary>A task as <c>GET /runs/{id}/tasks/{task}</c> gives it, from a run here or from the journal.</summary>
    private sealed record TaskBody(string Id, string Status, int Attempts, double Duration, string? Output, JsonElement? OutputJson, string? Error);

    private sealed record RunGraph(string RunId, string Plan, string Status, IReadOnlyList<GraphNode> Tasks);

    private sealed record GraphNode(string Id, string Worker, IReadOnlyList<int> DependsOn);

    private sealed record RunRow(string RunId, string Plan, string Status, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, IReadOnlyDictionary<string, int> Counts);

    /// <summary>429 with Retry-After, as problem details.</summary>
    private sealed class TooManyRuns(string detail) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = "5";
            return Results.Problem(detail: detail, statusCode: StatusCodes.Status429TooManyRequests).ExecuteAsync(httpContext);
        }
    }
}
