using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Hosting;

namespace ParallelFlow.Server;

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

        // The body is read by hand (JSON or YAML); the OpenAPI document still describes it.
        app.MapPost("/runs", Submit)
            .Accepts<SubmitRequest>("application/json", "application/yaml")
            .Produces(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        app.MapGet("/runs", List);
        app.MapGet("/runs/{id}", Report);
        app.MapGet("/runs/{id}/events", Events);
        app.MapGet("/runs/{id}/graph", Graph);
        app.MapGet("/runs/{id}/tasks/{task}", TaskOf);
        app.MapPost("/runs/{id}/resume", (string id, RunLauncher launcher) => Refusable(() =>
        {
            var (run, restored, edit) = launcher.Resume(id);
            return Results.Accepted($"/runs/{id}", new
            {
                run_id = id,
                restored,
                rerun = edit.Edits.Select(e => new { task_id = e.TaskId, reasons = e.Reasons }),
                removed = edit.Removed,
                status_url = $"/runs/{id}",
                events_url = $"/runs/{id}/events",
            });
        }));
        app.MapPost("/runs/{id}/cancel", (string id, RunLauncher launcher) => Refusable(() =>
        {
            launcher.Cancel(id);
            return Results.Accepted($"/runs/{id}", new { run_id = id, status = "cancelling" });
        }));
    }

    /// <summary>A problem document for what the launcher refused: 400 with the plan's errors as the command line gives
    /// them (code, line and column in the plan, task, message), 404, 409, or 429 with Retry-After.</summary>
    private static IResult Refusable(Func<IResult> action)
    {
        try
        {
            return action();
        }
        catch (RunRefusedException ex)
        {
            var errors = ex.Errors?.Errors.Where(e => !e.IsWarning).ToList();
            var problem = Results.Problem(
                title: ex.Title,
                detail: ex.Text,
                statusCode: ex.Status,
                extensions: errors is null ? null : new Dictionary<string, object?> { ["errors"] = errors.Select(e => new { code = e.Code, message = e.Message, task = e.TaskId, line = e.Position?.Line, column = e.Position?.Column }).ToList() });
            return ex.Status == StatusCodes.Status429TooManyRequests ? new RetryLater(problem) : problem;
        }
    }

    /// <summary>Starts a run: a JSON request (a registered plan's name or a plan, with inputs, strategy, workers), or a
    /// plan in YAML as the body (<c>application/yaml</c>) with <c>?workers=N&amp;strategy=S&amp;inputs={JSON}</c> and
    /// <c>&amp;input=NAME=VALUE</c> (read by the plan's types).</summary>
    private static async Task<IResult> Submit(HttpContext context, RunLauncher launcher)
    {
        SubmitRequest request;
        try
        {
            request = await ReadSubmitAsync(context).ConfigureAwait(false);
        }
        catch (RunRefusedException ex)
        {
            return Problem(ex.Status, ex.Message);
        }
        catch (BadHttpRequestException ex)
        {
            // Too large (413), or cut off.
            return Problem(ex.StatusCode, ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? $"the request is larger than this service takes ({context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize} bytes)" : ex.Message);
        }

        return Refusable(() =>
        {
            var run = launcher.Submit(request);
            var id = run.Flow.RunId;
            return Results.Accepted($"/runs/{id}", new { run_id = id, plan = run.Plan, status_url = $"/runs/{id}", events_url = $"/runs/{id}/events", cancel_url = $"/runs/{id}/cancel" });
        });
    }

    /// <summary>The media types of a plan sent in YAML.</summary>
    private static readonly string[] YamlTypes = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"];

    /// <summary>The fields of a JSON request.</summary>
    private static readonly string[] RequestFields = ["plan", "plan_yaml", "inputs", "strategy", "workers"];

    /// <summary>The request: JSON, or a YAML plan with the rest in the query.</summary>
    /// <exception cref="RunRefusedException">It is not a request, and why (400, or 415 for another media type).</exception>
    private static async Task<SubmitRequest> ReadSubmitAsync(HttpContext context)
    {
        var type = context.Request.ContentType ?? string.Empty;
        // The media type itself, not a parameter: text/plain;x=yaml is what any web page may send without asking.
        if (Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(type, out var media) && YamlTypes.Contains(media.MediaType.Value ?? string.Empty, StringComparer.OrdinalIgnoreCase))
        {
            return await ReadYamlAsync(context).ConfigureAwait(false);
        }

        if (!context.Request.HasJsonContentType())
        {
            throw new RunRefusedException(StatusCodes.Status415UnsupportedMediaType, $"send the request as application/json, or a plan as application/yaml{(type.Length == 0 ? " (the request has no content-type)" : $", not {type}")}");
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw new RunRefusedException(StatusCodes.Status400BadRequest, $"the request is not JSON: {JsonProblem(ex)}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new RunRefusedException(StatusCodes.Status400BadRequest, $"the request is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object: send {{\"plan\": NAME or {{ the plan }}, \"inputs\": {{…}}}}");
            }

            // A misspelt field would be dropped without a word: it is named instead, as a plan's unknown key is.
            foreach (var property in root.EnumerateObject())
            {
                if (!RequestFields.Contains(property.Name, StringComparer.Ordinal))
                {
                    var close = DisplayText.Suggest(property.Name, RequestFields);
                    throw new RunRefusedException(StatusCodes.Status400BadRequest, $"unknown field '{property.Name}' in the request{(close is null ? string.Empty : $" (did you mean '{close}'?)")}; a request has {string.Join(", ", RequestFields)}");
                }
            }

            try
            {
                return root.Deserialize<SubmitRequest>(context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions)!;
            }
            catch (JsonException ex)
            {
                var field = ex.Path?.TrimStart('$', '.').Split('.', '[')[0];
                throw new RunRefusedException(StatusCodes.Status400BadRequest, $"the request's {(string.IsNullOrEmpty(field) ? "fields have" : $"'{field}' has")} the wrong type: plan is a name or a plan object, plan_yaml a plan's YAML text, inputs an object, strategy a name, workers a whole number");
            }
        }
    }

    private static async Task<SubmitRequest> ReadYamlAsync(HttpContext context)
    {
        var query = context.Request.Query;
        int? workers = null;
        if (query["workers"].FirstOrDefault() is { } text)
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                throw new RunRefusedException(StatusCodes.Status400BadRequest, $"?workers={text}: not a worker count; give a whole number, 1 or more");
            }

            workers = count;
        }

        Dictionary<string, JsonElement>? inputs = null;
        if (query["inputs"].FirstOrDefault() is { } json)
        {
            try
            {
                inputs = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json);
            }
            catch (JsonException ex)
            {
                throw new RunRefusedException(StatusCodes.Status400BadRequest, $"?inputs: not a JSON object of inputs ({{\"NAME\": VALUE, …}}): {JsonProblem(ex)}");
            }
        }

        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        return new SubmitRequest(default, inputs, query["strategy"].FirstOrDefault(), workers)
        {
            PlanYaml = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false),
            YamlBody = true,
            InputTexts = [.. query["input"].OfType<string>()],
        };
    }

    /// <summary>What the JSON reader found wrong and where, without its .NET path notation.</summary>
    private static string JsonProblem(JsonException ex)
    {
        var what = ex.Message.Split(" Path:", 2)[0].TrimEnd('.');
        return ex.LineNumber is { } line ? $"line {line + 1}, byte {ex.BytePositionInLine + 1}: {what}" : what;
    }

    private static IResult List(RunLauncher launcher, string? plan, string? status, int? page, int? page_size)
    {
        var size = Math.Clamp(page_size ?? 50, 1, 500);
        var number = Math.Max(1, page ?? 1);
        var matching = launcher.Runs().Where(r => (plan is null || r.Plan == plan) && (status is null || r.Status == status)).ToList();
        return Results.Ok(new
        {
            total = matching.Count,
            page = number,
            page_size = size,
            runs = matching.Skip((number - 1) * size).Take(size).Select(r => new { run_id = r.RunId, plan = r.Plan, status = r.Status, started_at = r.StartedAt, finished_at = r.FinishedAt, counts = r.Counts }),
        });
    }

    private static IResult Report(string id, RunLauncher launcher) => launcher.Find(id) switch
    {
        { Report: { } report } => Json(report),
        { Going: { } run } => Results.Ok(new { run_id = id, plan = run.Plan, status = run.Status, last_event = run.LastId, finished = run.Finished, events_url = $"/runs/{id}/events" }),
        _ => Problem(StatusCodes.Status404NotFound, $"no run '{id}'"),
    };

    private static IResult TaskOf(string id, string task, RunLauncher launcher) =>
        launcher.Task(id, task) is { } body ? Results.Ok(body) : Problem(StatusCodes.Status404NotFound, $"no task '{task}' in a run '{id}'");

    /// <summary>The run's tasks and their dependencies (by index into the list, both <c>depends_on</c> and <c>after</c>),
    /// for drawing it: a 10,000-task plan is a few hundred kilobytes.</summary>
    private static IResult Graph(string id, RunHub hub, RunLauncher launcher)
    {
        if (hub.Find(id) is { } run)
        {
            return Results.Ok(new RunGraph(id, run.Plan, run.Status, Nodes(run.Compiled.Definition.Tasks)));
        }

        if (launcher.Journal is not { } journal || journal.Run(id) is not { } recorded || journal.Report(id) is not { } report)
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
                    return Results.Ok(new RunGraph(id, recorded.PlanId, recorded.Status, Nodes(launcher.CompilerOf(recorded).LoadPlan(recorded.PlanPath, recorded.ConfigPath).Tasks)));
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
    private static async Task Events(string id, HttpContext context, RunHub hub, ServeSettings settings)
    {
        if (hub.Find(id) is not { } run)
        {
            await Problem(StatusCodes.Status404NotFound, $"this service holds no events of a run '{id}' (it keeps those of the runs it started, the last {settings.KeepFinishedRuns} finished among them); GET /runs/{id} gives its report").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        var after = long.TryParse(context.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? context.Request.Query["after"].FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var last) ? last : 0;
        // An id of the stream of the run's earlier start (before a resume here) asks for all of this one.
        after = Math.Max(after, run.FirstId - 1);
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

    private static IResult Json(JsonDocument document) => Results.Text(document.RootElement.GetRawText(), "application/json");

    private static IResult Problem(int status, string detail) => Results.Problem(detail: detail, statusCode: status);

    private sealed record RunGraph(string RunId, string Plan, string Status, IReadOnlyList<GraphNode> Tasks);

    private sealed record GraphNode(string Id, string Worker, IReadOnlyList<int> DependsOn);

    /// <summary>429 with Retry-After, as problem details.</summary>
    private sealed class RetryLater(IResult problem) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = "5";
            return problem.ExecuteAsync(httpContext);
        }
    }
}
