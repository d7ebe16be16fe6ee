using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Hosting;

/// <summary>
/// A typed client of a ParallelFlow service (<c>parallelflow serve</c>): submit a run of a registered plan or of a plan
/// sent whole (JSON or YAML), follow its events (Server-Sent Events, resumed after the last one seen when the
/// connection drops), read its report and a task's output, cancel and resume it.
/// </summary>
/// <remarks>
/// <para>A request the service refuses throws <see cref="ParallelFlowServiceException"/> with its status and the
/// problem document's detail (and the plan's errors, for a plan that has some).</para>
/// <para>It reads and writes JSON with generated code, so a trimmed or natively compiled program can use it: give a run's
/// inputs as <see cref="JsonElement"/> values there. The overloads that take inputs as objects serialize them by
/// reflection.</para>
/// </remarks>
public sealed class ParallelFlowClient : IDisposable
{
    private const string ReflectionInputs = "Inputs given as objects are serialized by reflection, which trimming can break and native AOT may not support; give them as JsonElement values.";

    /// <summary>Connection drops in a row after which following a run gives up.</summary>
    private const int MaxDrops = 8;

    private readonly HttpClient _http;
    private readonly bool _owned;

    /// <summary>A client of the service at <paramref name="address"/>.</summary>
    /// <param name="address">The service, e.g. <c>http://127.0.0.1:8088</c>.</param>
    /// <param name="token">Its bearer token, if it needs one (a service off loopback does): from the environment, not from code.</param>
    public ParallelFlowClient(Uri address, string? token)
        : this(new HttpClient { BaseAddress = WithSlash(address), Timeout = Timeout.InfiniteTimeSpan })
    {
        _owned = true;
        if (token is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    /// <summary>A client over an <see cref="HttpClient"/> whose <see cref="HttpClient.BaseAddress"/> is the service (ending
    /// in <c>/</c> when the service is under a path, as <c>https://gateway/parallelflow/</c>), and which sends its token if
    /// it needs one (one from <c>IHttpClientFactory</c>, say); it is not disposed with this client.</summary>
    /// <param name="http">The HTTP client.</param>
    public ParallelFlowClient(HttpClient http)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
    }

    // Each submit has two overloads with optional parameters: inputs as JSON (what a trimmed or native program can
    // serialize) and inputs as objects (by reflection). The inputs are not optional in the second, so that a call with no
    // inputs takes the first; a null dictionary of either type is no inputs.
#pragma warning disable RS0026 // Do not add multiple public overloads with optional parameters
    /// <summary>Starts a run of a plan the service registered.</summary>
    /// <param name="plan">The plan's name (see <see cref="GetPlansAsync"/>).</param>
    /// <param name="inputs">The plan's inputs, by name.</param>
    /// <param name="options">The strategy and worker count, if not the plan's.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The run's id and plan.</returns>
    public Task<SubmittedRun> SubmitAsync(string plan, IReadOnlyDictionary<string, JsonElement>? inputs = null, SubmitOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return PostRunAsync("plan", w => w.WriteStringValue(plan), inputs, options, cancellationToken);
    }

    /// <summary>Starts a run of a plan the service registered, with inputs of any type.</summary>
    /// <param name="plan">The plan's name (see <see cref="GetPlansAsync"/>).</param>
    /// <param name="inputs">The plan's inputs, by name; values are serialized as JSON as they are (no naming policy), so
    /// that an object's properties reach the plan by their own names.</param>
    /// <param name="options">The strategy and worker count, if not the plan's.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The run's id and plan.</returns>
    [RequiresUnreferencedCode(ReflectionInputs)]
    [RequiresDynamicCode(ReflectionInputs)]
    public Task<SubmittedRun> SubmitAsync(string plan, IReadOnlyDictionary<string, object?>? inputs, SubmitOptions? options = null, CancellationToken cancellationToken = default) =>
        SubmitAsync(plan, ToElements(inputs), options, cancellationToken);

    /// <summary>Starts a run of a plan sent whole, as a plan file has it (a sectioning or voting request in the executors'
    /// format included). The service holds it to its allow-list of workers.</summary>
    /// <param name="plan">The plan, as JSON.</param>
    /// <param name="inputs">The plan's inputs, by name.</param>
    /// <param name="options">The strategy and worker count, if not the plan's.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The run's id and plan.</returns>
    public Task<SubmittedRun> SubmitPlanAsync(JsonElement plan, IReadOnlyDictionary<string, JsonElement>? inputs = null, SubmitOptions? options = null, CancellationToken cancellationToken = default) =>
        PostRunAsync("plan", plan.WriteTo, inputs, options, cancellationToken);

    /// <summary>Starts a run of a plan sent whole, with inputs of any type.</summary>
    /// <param name="plan">The plan, as JSON.</param>
    /// <param name="inputs">The plan's inputs, by name, serialized as they are.</param>
    /// <param name="options">The strategy and worker count, if not the plan's.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The run's id and plan.</returns>
    [RequiresUnreferencedCode(ReflectionInputs)]
    [RequiresDynamicCode(ReflectionInputs)]
    public Task<SubmittedRun> SubmitPlanAsync(JsonElement plan, IReadOnlyDictionary<string, object?>? inputs, SubmitOptions? options = null, CancellationToken cancellationToken = default) =>
        SubmitPlanAsync(plan, ToElements(inputs), options, cancellationToken);

    /// <summary>Starts a run of a plan in YAML, sent as it is (the service's errors give its lines and columns).</summary>
    /// <param name="yaml">The plan's text.</param>
    /// <param name="inputs">The plan's inputs, by name.</param>
    /// <param name="options">The strategy and worker count, if not the plan's.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The run's id and plan.</returns>
    public Task<SubmittedRun> SubmitYamlAsync(string yaml, IReadOnlyDictionary<string, JsonElement>? inputs = null, SubmitOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        return PostRunAsync("plan_yaml", w => w.WriteStringValue(yaml), inputs, options, cancellationToken);
    }

    /// <summary>Starts a run of a plan in YAML, with inputs of any type.</summary>
    /// <param name="yaml">The plan's text.</param>
    /// <param name="inputs">The plan's inputs, by name, serialized as they are.</param>
    /// <param name="options">The strategy and worker count, if not the plan's.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The run's id and plan.</returns>
    [RequiresUnreferencedCode(ReflectionInputs)]
    [RequiresDynamicCode(ReflectionInputs)]
    public Task<SubmittedRun> SubmitYamlAsync(string yaml, IReadOnlyDictionary<string, object?>? inputs, SubmitOptions? options = null, CancellationToken cancellationToken = default) =>
        SubmitYamlAsync(yaml, ToElements(inputs), options, cancellationToken);

#pragma warning restore RS0026

    /// <summary>The plans the service registered, with their inputs.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The plans.</returns>
    public async Task<IReadOnlyList<ServicePlan>> GetPlansAsync(CancellationToken cancellationToken = default) =>
        await SendAsync(HttpMethod.Get, "plans", ClientJson.Default.ListServicePlan, cancellationToken).ConfigureAwait(false);

    /// <summary>The service's runs, newest first: those it runs and those its journal holds.</summary>
    /// <param name="plan">Only the runs of this plan.</param>
    /// <param name="status">Only the runs with this status (<c>running</c>, <c>succeeded</c>, <c>failed</c>, <c>cancelled</c>, <c>interrupted</c>).</param>
    /// <param name="page">The page, from 1.</param>
    /// <param name="pageSize">Runs per page (1 to 500).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>One page of runs, and how many match.</returns>
    public Task<RunPage> GetRunsAsync(string? plan = null, string? status = null, int page = 1, int pageSize = 50, CancellationToken cancellationToken = default)
    {
        var query = new StringBuilder().Append(CultureInfo.InvariantCulture, $"runs?page={page}&page_size={pageSize}");
        if (plan is not null)
        {
            query.Append("&plan=").Append(Uri.EscapeDataString(plan));
        }

        if (status is not null)
        {
            query.Append("&status=").Append(Uri.EscapeDataString(status));
        }

        return SendAsync(HttpMethod.Get, query.ToString(), ClientJson.Default.RunPage, cancellationToken);
    }

    /// <summary>A run's report: the whole report once it has ended (as <c>run --report</c> writes it), else its status
    /// and the counts so far.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The report, as JSON.</returns>
    public Task<JsonElement> GetReportAsync(string runId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, $"runs/{Uri.EscapeDataString(runId)}", ClientJson.Default.JsonElement, cancellationToken);

    /// <summary>A task of a run: status, attempts, duration, its whole output and error.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="taskId">The task.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The task.</returns>
    public Task<ServiceTask> GetTaskAsync(string runId, string taskId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, $"runs/{Uri.EscapeDataString(runId)}/tasks/{Uri.EscapeDataString(taskId)}", ClientJson.Default.ServiceTask, cancellationToken);

    /// <summary>Cancels a run: running tasks are stopped, the rest do not start.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when the service has taken the request.</returns>
    public Task CancelAsync(string runId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, $"runs/{Uri.EscapeDataString(runId)}/cancel", ClientJson.Default.JsonElement, cancellationToken);

    /// <summary>Continues a run the service's journal holds that did not finish; the tasks that succeeded do not run again.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The run, and how many tasks were kept from the journal.</returns>
    public async Task<(SubmittedRun Run, int Restored)> ResumeAsync(string runId, CancellationToken cancellationToken = default)
    {
        var body = await SendAsync(HttpMethod.Post, $"runs/{Uri.EscapeDataString(runId)}/resume", ClientJson.Default.JsonElement, cancellationToken).ConfigureAwait(false);
        return (new SubmittedRun(runId, null), body.GetProperty("restored").GetInt32());
    }

    /// <summary>Follows a run's events from the one after <paramref name="after"/> until the run ends. A connection that
    /// drops is opened again after the last event seen, so no event is missed or repeated.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="after">The number of the last event already seen (0 for all).</param>
    /// <param name="cancellationToken">Stops following (not the run).</param>
    /// <returns>The events, numbered from 1 in the order the run recorded them.</returns>
    public async IAsyncEnumerable<ServiceEvent> WatchAsync(string runId, long after = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var last = after;
        // Drops in a row: reset by every event that comes, so a long watch survives any number of them, spaced out.
        var drops = 0;
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"runs/{Uri.EscapeDataString(runId)}/events");
            if (last > 0)
            {
                request.Headers.Add("Last-Event-ID", last.ToString(CultureInfo.InvariantCulture));
            }

            HttpResponseMessage? response = null;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException) when (drops < MaxDrops)
            {
                // Not reachable now: tried again below, after a pause.
            }

            if (response is not null)
            {
                using (response)
                {
                    await ThrowIfRefusedAsync(response, cancellationToken).ConfigureAwait(false);
                    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
                    var (id, name) = ((long?)null, (string?)null);
                    while (true)
                    {
                        string? line;
                        try
                        {
                            line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (ex is IOException or HttpRequestException && drops < MaxDrops)
                        {
                            // The connection dropped: opened again below, after the last event seen.
                            break;
                        }

                        if (line is null)
                        {
                            break;
                        }

                        if (line.StartsWith("id:", StringComparison.Ordinal))
                        {
                            id = long.Parse(line.AsSpan(3).Trim(), CultureInfo.InvariantCulture);
                        }
                        else if (line.StartsWith("event:", StringComparison.Ordinal))
                        {
                            name = line[6..].Trim();
                        }
                        else if (line.StartsWith("data:", StringComparison.Ordinal) && name is not null)
                        {
                            if (name == "end")
                            {
                                yield break;
                            }

                            using var data = JsonDocument.Parse(line.AsMemory(5));
                            var e = ToEvent(data.RootElement);
                            last = id ?? last + 1;
                            drops = 0;
                            yield return new ServiceEvent(last, e);
                            (id, name) = (null, null);
                        }
                    }
                }
            }

            // The stream ended without its end, or could not be opened: again after a pause that grows.
            if (++drops > MaxDrops)
            {
                throw new HttpRequestException($"the events of run {runId} stopped coming {MaxDrops} times in a row");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250 * drops), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Follows a run to its end and gives its report.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="cancellationToken">Stops waiting (not the run).</param>
    /// <returns>The run's report.</returns>
    public async Task<JsonElement> WaitAsync(string runId, CancellationToken cancellationToken = default)
    {
        try
        {
            await foreach (var _ in WatchAsync(runId, 0, cancellationToken).ConfigureAwait(false))
            {
            }
        }
        catch (ParallelFlowServiceException ex) when (ex.Status == HttpStatusCode.NotFound)
        {
            // The service no longer holds the run's events (it ended long ago, or before a restart): its report says.
        }

        return await GetReportAsync(runId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_owned)
        {
            _http.Dispose();
        }
    }

    /// <summary>Inputs of any type as JSON, each serialized as it is (no naming policy).</summary>
    [RequiresUnreferencedCode(ReflectionInputs)]
    [RequiresDynamicCode(ReflectionInputs)]
    private static Dictionary<string, JsonElement>? ToElements(IReadOnlyDictionary<string, object?>? inputs) =>
        inputs?.ToDictionary(i => i.Key, i => JsonSerializer.SerializeToElement(i.Value), StringComparer.Ordinal);

    private static Uri WithSlash(Uri address) => address.AbsoluteUri.EndsWith('/') ? address : new Uri(address.AbsoluteUri + "/");

    /// <summary>Sends a request to start a run: the plan (by name, whole, or as YAML) under <paramref name="planField"/>,
    /// then its inputs, strategy and worker count when given.</summary>
    private async Task<SubmittedRun> PostRunAsync(string planField, Action<Utf8JsonWriter> writePlan, IReadOnlyDictionary<string, JsonElement>? inputs, SubmitOptions? options, CancellationToken cancellationToken)
    {
        var body = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WritePropertyName(planField);
            writePlan(writer);
            if (inputs is { Count: > 0 })
            {
                writer.WriteStartObject("inputs");
                foreach (var (name, value) in inputs)
                {
                    writer.WritePropertyName(name);
                    value.WriteTo(writer);
                }

                writer.WriteEndObject();
            }

            if (options?.Strategy is { } strategy)
            {
                writer.WriteString("strategy", strategy);
            }

            if (options?.Workers is { } workers)
            {
                writer.WriteNumber("workers", workers);
            }

            writer.WriteEndObject();
        }

        using var content = new ReadOnlyMemoryContent(body.WrittenMemory);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        using var response = await _http.PostAsync("runs", content, cancellationToken).ConfigureAwait(false);
        await ThrowIfRefusedAsync(response, cancellationToken).ConfigureAwait(false);
        var run = await response.Content.ReadFromJsonAsync(ClientJson.Default.JsonElement, cancellationToken).ConfigureAwait(false);
        return new SubmittedRun(run.GetProperty("run_id").GetString()!, run.TryGetProperty("plan", out var plan) ? plan.GetString() : null);
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await ThrowIfRefusedAsync(response, cancellationToken).ConfigureAwait(false);
        return (await response.Content.ReadFromJsonAsync(type, cancellationToken).ConfigureAwait(false))!;
    }

    private static async Task ThrowIfRefusedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string? detail = null;
        var errors = new List<ServicePlanError>();
        try
        {
            var problem = await response.Content.ReadFromJsonAsync(ClientJson.Default.JsonElement, cancellationToken).ConfigureAwait(false);
            detail = problem.TryGetProperty("detail", out var d) ? d.GetString() : null;
            if (problem.TryGetProperty("errors", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                errors.AddRange(list.Deserialize(ClientJson.Default.ListServicePlanError) ?? []);
            }
        }
        catch (JsonException)
        {
            // Not a problem document (a proxy's page, say): the status says what there is to say.
        }

        throw new ParallelFlowServiceException(response.StatusCode, detail ?? response.ReasonPhrase ?? "the service refused the request", errors, response.Headers.RetryAfter?.Delta);
    }

    private static RunEvent ToEvent(JsonElement e)
    {
        static string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString() : null;
        static int Number(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetInt32() : 0;
        static T Parse<T>(string snake) where T : struct, Enum => Enum.Parse<T>(snake.Replace("_", string.Empty, StringComparison.Ordinal), ignoreCase: true);
        return new RunEvent(
            Parse<RunEventKind>(Text(e, "kind")!),
            e.GetProperty("time").GetDateTimeOffset(),
            Text(e, "task"),
            Text(e, "worker_type"),
            Number(e, "worker"),
            Number(e, "attempt"),
            Text(e, "status") is { } status ? Parse<TaskRunStatus>(status) : null,
            Text(e, "message"),
            e.TryGetProperty("delay_seconds", out var delay) ? TimeSpan.FromSeconds(delay.GetDouble()) : null);
    }
}

/// <summary>What the client reads from the service, deserialized by generated code (the service writes snake_case).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(List<ServicePlan>))]
[JsonSerializable(typeof(RunPage))]
[JsonSerializable(typeof(ServiceTask))]
[JsonSerializable(typeof(List<ServicePlanError>))]
internal sealed partial class ClientJson : JsonSerializerContext;

/// <summary>How a run is to be started, beyond its plan and inputs.</summary>
/// <param name="Strategy">The scheduling strategy, if not the plan's.</param>
/// <param name="Workers">The worker count, if not the plan's.</param>
public sealed record SubmitOptions(string? Strategy = null, int? Workers = null);

/// <summary>A run the service started.</summary>
/// <param name="RunId">Its id.</param>
/// <param name="Plan">Its plan's name, when the service said.</param>
public sealed record SubmittedRun(string RunId, string? Plan);

/// <summary>An event of a run, with its number in the run's stream (the SSE id).</summary>
/// <param name="Id">Its number, from 1.</param>
/// <param name="Event">The event, as a local run gives it.</param>
public sealed record ServiceEvent(long Id, RunEvent Event);

/// <summary>A plan the service registered.</summary>
/// <param name="Id">The name runs are submitted by.</param>
/// <param name="PlanId">The plan's own id.</param>
/// <param name="Tasks">Its task count.</param>
/// <param name="Description">Its description.</param>
/// <param name="Inputs">Its inputs, by name.</param>
public sealed record ServicePlan(string Id, string PlanId, int Tasks, string? Description, IReadOnlyDictionary<string, ServicePlanInput> Inputs);

/// <summary>An input of a registered plan.</summary>
/// <param name="Type"><c>string</c>, <c>number</c>, <c>boolean</c>, <c>object</c> or <c>array</c>.</param>
/// <param name="Required">Whether a run must give it.</param>
/// <param name="Default">Its default, if any.</param>
/// <param name="Description">What it is.</param>
public sealed record ServicePlanInput(string Type, bool Required, JsonElement? Default, string? Description);

/// <summary>One page of the service's runs.</summary>
/// <param name="Total">How many runs match.</param>
/// <param name="Page">The page, from 1.</param>
/// <param name="PageSize">Runs per page.</param>
/// <param name="Runs">The runs on this page, newest first.</param>
public sealed record RunPage(int Total, int Page, int PageSize, IReadOnlyList<RunSummary> Runs);

/// <summary>A run as the service lists it.</summary>
/// <param name="RunId">Its id.</param>
/// <param name="Plan">Its plan.</param>
/// <param name="Status">Its status.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="FinishedAt">When it ended, if it has.</param>
/// <param name="Counts">Its tasks, counted by status.</param>
public sealed record RunSummary(string RunId, string Plan, string Status, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, IReadOnlyDictionary<string, int> Counts);

/// <summary>A task of a run, as the service gives it.</summary>
/// <param name="Id">The task.</param>
/// <param name="Status">Its status.</param>
/// <param name="Attempts">How many times it ran.</param>
/// <param name="Duration">Its duration, in seconds.</param>
/// <param name="Output">Its output as text.</param>
/// <param name="OutputJson">Its output as JSON, when it is JSON.</param>
/// <param name="Error">Its error, if it failed.</param>
public sealed record ServiceTask(string Id, string Status, int Attempts, double Duration, string? Output, JsonElement? OutputJson, string? Error);

/// <summary>An error in a plan the service refused, as the command line names it.</summary>
/// <param name="Code">The error's code (<c>PF0014</c>, …).</param>
/// <param name="Message">What is wrong.</param>
/// <param name="Task">The task it is in, if any.</param>
/// <param name="Line">Its line in the plan, if known.</param>
/// <param name="Column">Its column, if known.</param>
public sealed record ServicePlanError(string Code, string Message, string? Task, int? Line, int? Column);

/// <summary>The service refused a request: its HTTP status, the problem document's detail, and the plan's errors.</summary>
public sealed class ParallelFlowServiceException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="status">The HTTP status.</param>
    /// <param name="detail">What the service said.</param>
    /// <param name="errors">The plan's errors, if it has some.</param>
    /// <param name="retryAfter">How long to wait before trying again (a full queue: 429).</param>
    public ParallelFlowServiceException(HttpStatusCode status, string detail, IReadOnlyList<ServicePlanError> errors, TimeSpan? retryAfter)
        : base(detail)
    {
        Status = status;
        Errors = errors;
        RetryAfter = retryAfter;
    }

    /// <summary>The HTTP status.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>The plan's errors, if it has some.</summary>
    public IReadOnlyList<ServicePlanError> Errors { get; }

    /// <summary>How long to wait before trying again, when the service said.</summary>
    public TimeSpan? RetryAfter { get; }
}
