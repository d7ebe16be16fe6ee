using System.Text.Json;
using ParallelFlow.Sdk;
using TaskRequest = ParallelFlow.Sdk.TaskRequest;

namespace ParallelFlow.Orleans;

/// <summary>One attempt of a task as it crosses the wire to a silo: what the silo's worker needs to run it. JSON values
/// travel as their raw text, so a plugin's types never need to be known to the serializer.</summary>
[GenerateSerializer, Immutable]
internal sealed record WireRequest(
    [property: Id(0)] Guid AttemptId,
    [property: Id(1)] string RunId,
    [property: Id(2)] string TaskId,
    [property: Id(3)] string WorkerName,
    [property: Id(4)] string Description,
    [property: Id(5)] string With,
    [property: Id(6)] Dictionary<string, string> Inputs,
    [property: Id(7)] Dictionary<string, WireResult> Dependencies,
    [property: Id(8)] int Attempt,
    [property: Id(9)] string? TraceParent = null,
    [property: Id(10)] string? TraceState = null,
    [property: Id(11)] Guid Coordinator = default,
    [property: Id(12)] long? MaxMemoryBytes = null)
{
    public static WireRequest From(string runId, TaskRequest request, Guid attemptId)
    {
        var inputs = new Dictionary<string, string>(request.Inputs.Count, StringComparer.Ordinal);
        foreach (var (name, value) in request.Inputs)
        {
            inputs[name] = value.GetRawText();
        }

        var dependencies = new Dictionary<string, WireResult>(StringComparer.Ordinal);
        foreach (var (id, result) in request.DependencyOutputs)
        {
            dependencies[id] = WireResult.From(result);
        }

        // The coordinator's attempt span, in W3C form: the silo's span of the attempt is its child, whether or not
        // Orleans' own call spans are recorded anywhere.
        var span = System.Diagnostics.Activity.Current;
        return new WireRequest(attemptId, runId, request.TaskId, request.WorkerName, request.Description,
            request.With.ValueKind == JsonValueKind.Undefined ? "{}" : request.With.GetRawText(), inputs, dependencies, request.Attempt,
            span?.IdFormat == System.Diagnostics.ActivityIdFormat.W3C ? span.Id : null, span?.TraceStateString, MaxMemoryBytes: request.MaxMemoryBytes);
    }

    /// <summary>The request as the silo's worker sees it, with its parameters bound by that worker.</summary>
    public TaskRequest ToRequest(ParallelFlowWorker worker, IProgress<string> progress, Microsoft.Extensions.Logging.ILogger logger, CancellationToken cancellationToken)
    {
        var with = Parse(With);
        var inputs = new Dictionary<string, JsonElement>(Inputs.Count, StringComparer.Ordinal);
        foreach (var (name, raw) in Inputs)
        {
            inputs[name] = Parse(raw);
        }

        return new TaskRequest
        {
            TaskId = TaskId,
            WorkerName = WorkerName,
            Description = Description,
            With = with,
            Parameters = worker.BindParameters(with),
            Inputs = inputs,
            DependencyOutputs = Dependencies.Count == 0
                ? TaskRequest.NoDependencies
                : Dependencies.ToDictionary(d => d.Key, d => d.Value.ToResult(), StringComparer.Ordinal),
            Attempt = Attempt,
            Progress = progress,
            Logger = logger,
            // The plan's resources.max_memory_mb, held on the silo's machine as it would be here.
            MaxMemoryBytes = MaxMemoryBytes,
            CancellationToken = cancellationToken,
        };
    }

    internal static JsonElement Parse(string raw)
    {
        using var document = JsonDocument.Parse(raw);
        return document.RootElement.Clone();
    }
}

/// <summary>A task's result on the wire: outputs, artifacts' metadata, usage and the decision record.</summary>
[GenerateSerializer, Immutable]
internal sealed record WireResult(
    [property: Id(0)] string? Text,
    [property: Id(1)] string? Json,
    [property: Id(2)] List<WireArtifact> Artifacts,
    [property: Id(3)] long InputTokens,
    [property: Id(4)] long OutputTokens,
    [property: Id(5)] decimal Cost,
    [property: Id(6)] string? Record,
    [property: Id(7)] string? Model)
{
    public static WireResult From(TaskResult result) => new(
        result.Text,
        result.Json?.GetRawText(),
        [.. result.Artifacts.Select(a => new WireArtifact(a.Name, a.Path, a.MediaType))],
        result.Usage.InputTokens,
        result.Usage.OutputTokens,
        result.Usage.Cost,
        result.Record?.GetRawText(),
        result.Model);

    public TaskResult ToResult() => new()
    {
        Text = Text,
        Json = Json is null ? null : WireRequest.Parse(Json),
        Artifacts = Artifacts.Count == 0 ? [] : [.. Artifacts.Select(a => new TaskArtifact(a.Name, a.Path, a.MediaType))],
        Usage = new TaskUsage(InputTokens, OutputTokens, Cost),
        Record = Record is null ? null : WireRequest.Parse(Record),
        Model = Model,
    };
}

/// <summary>An artifact's metadata: the file stays on the silo that wrote it.</summary>
[GenerateSerializer, Immutable]
internal sealed record WireArtifact([property: Id(0)] string Name, [property: Id(1)] string Path, [property: Id(2)] string? MediaType);

/// <summary>How an attempt ended on a silo: a result, or the failure as the worker contract sorts it.</summary>
[GenerateSerializer, Immutable]
internal sealed record WireOutcome(
    [property: Id(0)] WireResult? Result,
    [property: Id(1)] WireFailure Failure,
    [property: Id(2)] string? ErrorType,
    [property: Id(3)] string? Error,
    [property: Id(4)] string Silo);

/// <summary>The kinds of failure a worker's exception falls into.</summary>
internal enum WireFailure
{
    None,
    Transient,
    Fatal,
    Cancelled,

    /// <summary>Over the task's memory limit (<c>MemoryLimitException</c>): fatal, and reported as <c>memory</c>.</summary>
    Memory,
}

/// <summary>What a silo advertises: its workers and slots, and what it is doing.</summary>
[GenerateSerializer, Immutable]
internal sealed record SiloDescription(
    [property: Id(0)] string Silo,
    [property: Id(1)] string Host,
    [property: Id(2)] List<string> Workers,
    [property: Id(3)] int Slots,
    [property: Id(4)] int InUse,
    [property: Id(5)] long Done,
    [property: Id(6)] long Failed,
    [property: Id(7)] List<Guid> Running,
    [property: Id(8)] string? Plugins,
    [property: Id(9)] int ProcessId,
    [property: Id(10)] Dictionary<string, int>? WorkerSlots = null);
