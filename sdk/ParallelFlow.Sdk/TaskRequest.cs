using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ParallelFlow.Sdk;

/// <summary>One attempt of one task, as handed to a <see cref="ParallelFlowWorker"/>.</summary>
/// <remarks>Immutable while a worker has it. A new request is made for every attempt, unless the worker says it keeps
/// none past its attempt (<see cref="ParallelFlowWorker.KeepsRequests"/>): the engine may then fill one object in again
/// for the worker's next attempt once the last one has completed.</remarks>
public sealed class TaskRequest
{
    /// <summary>Makes a request; set at least <see cref="TaskId"/> and <see cref="WorkerName"/>.</summary>
    public TaskRequest()
    {
    }

    /// <summary>The engine's request: what every attempt of the task shares, made once when the plan was compiled, and
    /// what every request of the run shares.</summary>
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
#pragma warning disable CS8618 // TaskId and WorkerName are read from the spec, which holds both.
    internal TaskRequest(TaskRequestSpec spec, RequestScope scope)
#pragma warning restore CS8618
    {
        _spec = spec;
        _scope = scope;
    }

    // The task's id, worker name, description and parameters: one reference to what the compiled plan made once per task
    // (so that an attempt's request is 64 bytes, not 104, and making it reads nothing of the task's definition); a
    // request built property by property gets its own copy at its first property.
    private TaskRequestSpec _spec = TaskRequestSpec.Empty;

    private TaskRequestSpec OwnSpec() => _spec.Shared ? _spec = _spec.Copy() : _spec;

    /// <summary>The task's id, unique within its plan.</summary>
    public required string TaskId { get => _spec.TaskId; init => OwnSpec().TaskId = value; }

    /// <summary>The name the plan used for the worker.</summary>
    public required string WorkerName { get => _spec.WorkerName; init => OwnSpec().WorkerName = value; }

    /// <summary>The task's description from the plan.</summary>
    /// <value>Empty when the plan gave none.</value>
    public string Description { get => _spec.Description; init => OwnSpec().Description = value; }

    /// <summary>The task's parameters: the plan's <c>with</c> object.</summary>
    /// <value>An empty JSON object when the plan gave none.</value>
    public JsonElement With { get => _spec.With; init => OwnSpec().With = value; }

    /// <summary>The results of the task's hard dependencies (<c>depends_on</c>), keyed by task id.</summary>
    /// <remarks>Every hard dependency succeeded before the task started, so each one is present.
    /// Soft dependencies (<c>after</c>) are not included.</remarks>
    public IReadOnlyDictionary<string, TaskResult> DependencyOutputs
    {
        // The engine's requests make their view on first read: many workers never read it, and it was a fifth of what
        // a run allocated per task. One field holds the view, or what makes it, so a request is no larger for it.
        get
        {
            switch (_dependencyOutputs)
            {
                case IReadOnlyDictionary<string, TaskResult> outputs:
                    return outputs;
                case IDependencyOutputSource source:
                    var made = source.DependencyOutputsOf(_dependencyTask);
                    _dependencyOutputs = made;
                    return made;
                default:
                    return NoDependencies;
            }
        }

        init => _dependencyOutputs = value;
    }

    // The view, or the source that makes it on first read (the engine's requests), or null for none.
    private object? _dependencyOutputs;
    private int _dependencyTask;

    /// <summary>Makes this request another attempt's: for a worker that keeps no request past its attempt
    /// (<see cref="ParallelFlowWorker.KeepsRequests"/>), once its last attempt with this object has completed. Everything
    /// an attempt reads is set again; nothing of the last one is left.</summary>
    internal TaskRequest Refill(TaskRequestSpec spec, RequestScope scope, IDependencyOutputSource? dependencySource, int dependencyTask,
        int attempt, IProgress<string> progress, CancellationToken cancellationToken)
    {
        // A reference is written only when it differs: the scope, dependency source, progress sink and token are the
        // same attempt after attempt of a run, and each write of a reference costs a GC write barrier.
        _spec = spec;
        if (!ReferenceEquals(_scope, scope))
        {
            _scope = scope;
        }

        if (!ReferenceEquals(_dependencyOutputs, dependencySource))
        {
            _dependencyOutputs = dependencySource;
        }

        _dependencyTask = dependencyTask;
        _attempt = attempt;
        if (!ReferenceEquals(_progress, progress))
        {
            _progress = progress;
        }

        if (_cancellationToken != cancellationToken)
        {
            _cancellationToken = cancellationToken;
        }

        return this;
    }

    /// <summary>Lets go of everything the last attempt's request referred to (its run, through the dependency view and
    /// the token; its plan, through the spec): done when the executor loop that kept the object as its spare ends, so a
    /// spare a thread keeps for its next loop keeps no finished run alive.</summary>
    internal TaskRequest Emptied() =>
        Refill(TaskRequestSpec.Empty, RequestScope.Default, null, 0, 1, NoProgress.Instance, CancellationToken.None);

    /// <summary>Where <see cref="DependencyOutputs"/> comes from when it is first read, instead of a value given now.</summary>
    internal IDependencyOutputSource? DependencySource { init => _dependencyOutputs = value; }

    /// <summary>The task <see cref="DependencySource"/> is asked about.</summary>
    internal int DependencyTask { init => _dependencyTask = value; }

    /// <summary>The parameters as the worker bound them when the plan was compiled
    /// (<see cref="ParallelFlowWorker.BindParameters"/>), or null.</summary>
    public object? Parameters { get => _spec.Parameters; init => OwnSpec().Parameters = value; }

    /// <summary>The values of the run's plan inputs, by name (what <c>{{inputs.NAME}}</c> in a task's <c>with</c> stands
    /// for); empty when the plan takes none.</summary>
    public IReadOnlyDictionary<string, JsonElement> Inputs { get => _scope.Inputs; init => _scope = _scope with { Inputs = value }; }

    /// <summary>The most memory the task may use, in bytes: the plan's (or config's) <c>resources.max_memory_mb</c>. A
    /// worker that starts processes holds each to it (the process plugin does) and throws
    /// <see cref="MemoryLimitException"/> when one goes over; null for no limit.</summary>
    public long? MaxMemoryBytes { get => _scope.MaxMemoryBytes; init => _scope = _scope with { MaxMemoryBytes = value }; }

    // What every request of a run shares (its logger, inputs and limits): one reference, made once per run by the engine.
    private RequestScope _scope = RequestScope.Default;

    /// <summary>The run's shared part of every request, given at once instead of one property at a time.</summary>
    internal RequestScope Scope { init => _scope = value; }

    /// <summary>The <see cref="DependencyOutputs"/> of a task without hard dependencies: an empty, shared dictionary.</summary>
    public static IReadOnlyDictionary<string, TaskResult> NoDependencies { get; } = new Dictionary<string, TaskResult>();

    /// <summary>The attempt number, starting at 1.</summary>
    public int Attempt { get => _attempt; init => _attempt = value; }

    private int _attempt = 1;

    /// <summary>Where a worker reports progress as it goes — a line of a process's output, a step done. Each report
    /// becomes a <c>task_output</c> event in the run's live stream, when someone watches it.</summary>
    /// <value>A sink that drops reports, when nobody watches.</value>
    /// <remarks>Cheap when nobody watches; safe to call from any thread.</remarks>
    public IProgress<string> Progress { get => _progress; init => _progress = value; }

    private IProgress<string> _progress = NoProgress.Instance;

    /// <summary>A logger scoped to this task.</summary>
    public ILogger Logger { get => _scope.Logger; init => _scope = _scope with { Logger = value }; }

    /// <summary>The same token as the one passed to <see cref="ParallelFlowWorker.ExecuteAsync"/>, for code that only has the request.</summary>
    public CancellationToken CancellationToken { get => _cancellationToken; init => _cancellationToken = value; }

    private CancellationToken _cancellationToken;

    /// <summary>Reads a string parameter from <see cref="With"/>.</summary>
    /// <param name="name">The parameter's key.</param>
    /// <returns>The value, or <see langword="null"/> when the key is absent or not a string.</returns>
    public string? GetString(string name) =>
        With.ValueKind == JsonValueKind.Object && With.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>Reads a number parameter from <see cref="With"/>.</summary>
    /// <param name="name">The parameter's key.</param>
    /// <returns>The value, or <see langword="null"/> when the key is absent or not a number.</returns>
    public double? GetDouble(string name) =>
        With.ValueKind == JsonValueKind.Object && With.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
            ? value.GetDouble()
            : null;

    private sealed class NoProgress : IProgress<string>
    {
        public static readonly NoProgress Instance = new();

        public void Report(string value)
        {
        }
    }
}

/// <summary>What every request of one task shares, across attempts and the runs of its compiled plan: its id, worker,
/// description and parameters. Made once per task by the engine (<see cref="Shared"/>); a request built property by
/// property copies it first, so a shared one is never written after it is made.</summary>
internal sealed class TaskRequestSpec
{
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement;

    /// <summary>What a request built property by property starts from.</summary>
    public static readonly TaskRequestSpec Empty = new(string.Empty, string.Empty, string.Empty, EmptyObject, null);

    public TaskRequestSpec(string taskId, string workerName, string? description, JsonElement with, object? parameters, bool shared = true)
    {
        TaskId = taskId;
        WorkerName = workerName;
        Description = description ?? string.Empty;
        With = with.ValueKind == JsonValueKind.Undefined ? EmptyObject : with;
        Parameters = parameters;
        Shared = shared;
    }

    public string TaskId { get; set; }

    public string WorkerName { get; set; }

    public string Description { get; set; }

    public JsonElement With { get; set; }

    public object? Parameters { get; set; }

    /// <summary>Whether requests share it: then it is never written again.</summary>
    public bool Shared { get; }

    public TaskRequestSpec Copy() => new(TaskId, WorkerName, Description, With, Parameters, shared: false);
}

/// <summary>What the requests of one run share: its task logger, its inputs' values and its limits.</summary>
internal sealed record RequestScope(ILogger Logger, IReadOnlyDictionary<string, JsonElement> Inputs, long? MaxMemoryBytes)
{
    public static readonly RequestScope Default = new(NullLogger.Instance, new Dictionary<string, JsonElement>(), null);
}
