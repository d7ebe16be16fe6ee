using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Plans;

/// <summary>Builds a plan in code, for hosts. Tasks can name a worker from the catalog or run a delegate in-process.</summary>
/// <example>
/// <code>
/// var plan = new PlanBuilder("report")
///     .AddTask("fetch", async (request, ct) => TaskResult.FromText(await http.GetStringAsync(url, ct)))
///     .AddTask("summary", "template", t => t.DependsOn("fetch").With(new { text = "Got {{fetch}}" }))
///     .Build();
/// </code>
/// </example>
/// <remarks>Set freely, then <see cref="Build"/> validates once (reporting every problem) and returns an immutable plan.</remarks>
public sealed class PlanBuilder
{
    private readonly string _id;
    private readonly List<TaskBuilder> _tasks = [];
    private readonly Dictionary<string, int> _limits = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PlanInput> _inputs = new(StringComparer.Ordinal);
    private string _description = string.Empty;
    private ParallelismSettings _parallelism = new();
    private TimeoutSettings _timeouts = new();
    private ResourceSettings _resources = new();
    private RetrySettings _retry = RetrySettings.None;
    private FailurePolicy _onFailure = FailurePolicy.Continue;
    private BudgetSettings? _budget;

    /// <summary>Starts a plan.</summary>
    /// <param name="id">The plan's id.</param>
    public PlanBuilder(string id)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        _id = id;
    }

    /// <summary>Declares an input the plan takes per run (<c>{{inputs.NAME}}</c> in a task's parameters); a run
    /// supplies it in <see cref="Execution.RunOptions.Inputs"/>.</summary>
    /// <param name="input">The input: its name, type, and default or whether it is required.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder Input(PlanInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _inputs[input.Name] = input;
        return this;
    }

    /// <summary>Describes the plan.</summary>
    /// <param name="description">What the plan is for.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder Describe(string description)
    {
        _description = description;
        return this;
    }

    /// <summary>Sets how many tasks may run at once: the range, the default and whether the pool adapts to the load.</summary>
    /// <param name="parallelism">The settings.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder WithParallelism(ParallelismSettings parallelism)
    {
        _parallelism = parallelism ?? throw new ArgumentNullException(nameof(parallelism));
        return this;
    }

    /// <summary>Sets the default worker count.</summary>
    /// <param name="workers">How many tasks may run at once.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder WithWorkers(int workers)
    {
        _parallelism = _parallelism with { DefaultWorkers = workers };
        return this;
    }

    /// <summary>Caps how many tasks of one worker type run at once.</summary>
    /// <param name="worker">The worker type.</param>
    /// <param name="limit">The cap.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder WithLimit(string worker, int limit)
    {
        _limits[worker] = limit;
        return this;
    }

    /// <summary>Sets the task time limits.</summary>
    /// <param name="timeouts">The limits.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder WithTimeouts(TimeoutSettings timeouts)
    {
        _timeouts = timeouts;
        return this;
    }

    /// <summary>Sets the resource limits: the memory one task may use.</summary>
    /// <param name="resources">The limits.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder WithResources(ResourceSettings resources)
    {
        _resources = resources ?? throw new ArgumentNullException(nameof(resources));
        return this;
    }

    /// <summary>Sets the retry settings of tasks that set none.</summary>
    /// <param name="retry">The settings.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder WithRetry(RetrySettings retry)
    {
        _retry = retry;
        return this;
    }

    /// <summary>Sets what a failure does to the rest of the run.</summary>
    /// <param name="policy">The policy.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder OnFailure(FailurePolicy policy)
    {
        _onFailure = policy;
        return this;
    }

    /// <summary>Sets the run budget.</summary>
    /// <param name="budget">The limits and how they are divided.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder WithBudget(BudgetSettings budget)
    {
        _budget = budget;
        return this;
    }

    /// <summary>Adds a task done by a worker from the catalog.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="worker">The worker type.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder AddTask(string id, string worker) => AddTask(id, worker, _ => { });

    /// <summary>Adds a task done in-process by a delegate.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="execute">Does the task; follows the exception contract of <see cref="ParallelFlowWorker"/>.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder AddTask(string id, Func<TaskRequest, CancellationToken, ValueTask<TaskResult>> execute) => AddTask(id, execute, _ => { });

    /// <summary>Adds a task done by a worker from the catalog.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="worker">The worker type.</param>
    /// <param name="configure">Sets the task's parameters, dependencies and other settings.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder AddTask(string id, string worker, Action<TaskBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var task = new TaskBuilder(id, worker, null);
        configure(task);
        _tasks.Add(task);
        return this;
    }

    /// <summary>Adds a task done in-process by a delegate.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="execute">Does the task; follows the exception contract of <see cref="ParallelFlowWorker"/>.</param>
    /// <param name="configure">Sets the task's dependencies and other settings.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder AddTask(string id, Func<TaskRequest, CancellationToken, ValueTask<TaskResult>> execute, Action<TaskBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentNullException.ThrowIfNull(execute);
        var task = new TaskBuilder(id, DelegateWorker.Name, new DelegateWorker(execute));
        configure(task);
        _tasks.Add(task);
        return this;
    }

    /// <summary>Adds a task done in-process by a delegate; the token is <see cref="TaskRequest.CancellationToken"/>.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="execute">Does the task; follows the exception contract of <see cref="ParallelFlowWorker"/>.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder AddTask(string id, Func<TaskRequest, ValueTask<TaskResult>> execute) => AddTask(id, execute, _ => { });

    /// <summary>Adds a task done in-process by a delegate; the token is <see cref="TaskRequest.CancellationToken"/>.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="execute">Does the task; follows the exception contract of <see cref="ParallelFlowWorker"/>.</param>
    /// <param name="configure">Sets the task's dependencies and other settings.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder AddTask(string id, Func<TaskRequest, ValueTask<TaskResult>> execute, Action<TaskBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(execute);
        return AddTask(id, (request, _) => execute(request), configure);
    }

    /// <summary>Adds a task done in-process by an asynchronous delegate whose text is the task's output.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="execute">Does the task; the token is <see cref="TaskRequest.CancellationToken"/>.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder AddTask(string id, Func<TaskRequest, Task<string>> execute) => AddTask(id, execute, _ => { });

    /// <summary>Adds a task done in-process by an asynchronous delegate whose text is the task's output.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="execute">Does the task; the token is <see cref="TaskRequest.CancellationToken"/>.</param>
    /// <param name="configure">Sets the task's dependencies and other settings.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder AddTask(string id, Func<TaskRequest, Task<string>> execute, Action<TaskBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(execute);
        return AddTask(id, async (request, _) => TaskResult.FromText(await execute(request).ConfigureAwait(false)), configure);
    }

    /// <summary>Adds a task done in-process by a synchronous delegate whose text is the task's output (it runs on a
    /// worker slot like any task).</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="execute">Does the task.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder AddTask(string id, Func<TaskRequest, string> execute) => AddTask(id, execute, _ => { });

    /// <summary>Adds a task done in-process by a synchronous delegate whose text is the task's output (it runs on a
    /// worker slot like any task).</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="execute">Does the task.</param>
    /// <param name="configure">Sets the task's dependencies and other settings.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder AddTask(string id, Func<TaskRequest, string> execute, Action<TaskBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(execute);
        return AddTask(id, (request, _) => ValueTask.FromResult(TaskResult.FromText(execute(request))), configure);
    }

    /// <summary>Adds a task done in-process by a synchronous delegate that returns the task's result.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="execute">Does the task.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder AddTask(string id, Func<TaskRequest, TaskResult> execute) => AddTask(id, execute, _ => { });

    /// <summary>Adds a task done in-process by a synchronous delegate that returns the task's result.</summary>
    /// <param name="id">The task's id.</param>
    /// <param name="execute">Does the task.</param>
    /// <param name="configure">Sets the task's dependencies and other settings.</param>
    /// <returns>This builder.</returns>
    public PlanBuilder AddTask(string id, Func<TaskRequest, TaskResult> execute, Action<TaskBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(execute);
        return AddTask(id, (request, _) => ValueTask.FromResult(execute(request)), configure);
    }

    /// <summary>Validates the plan and returns it.</summary>
    /// <returns>The plan.</returns>
    /// <exception cref="PlanValidationException">The plan has errors; all of them are listed.</exception>
    public PlanDefinition Build()
    {
        var errors = new List<PlanError>();
        if (_tasks.Count == 0)
        {
            errors.Add(new PlanError(PlanError.MissingCode, "the plan has no tasks", _id, null, null));
        }

        var plan = new PlanDefinition
        {
            Id = _id,
            Description = _description,
            Inputs = _inputs,
            Parallelism = _parallelism,
            Limits = new Dictionary<string, int>(_limits),
            Timeouts = _timeouts,
            Resources = _resources,
            Retry = _retry,
            OnFailure = _onFailure,
            Budget = _budget,
            Tasks = [.. _tasks.Select(t => t.Build())],
            SourceMap = new PlanSourceMap(_id),
        };
        return PlanValidator.Finish(plan, errors, workersCheckedBy: null);
    }

    /// <summary>Sets one task's parameters and dependencies.</summary>
    public sealed class TaskBuilder
    {
        private readonly string _id;
        private readonly string _worker;
        private readonly ParallelFlowWorker? _inline;
        private readonly List<string> _dependsOn = [];
        private readonly List<string> _after = [];
        private string _description = string.Empty;
        private JsonElement _with = TaskDefinition.EmptyParameters;
        private TaskPriority _priority = TaskPriority.Normal;
        private double? _timeout;
        private double? _estimate;
        private long? _estimateTokens;
        private decimal? _estimateCost;
        private bool? _cache;
        private ContextSettings? _context;
        private RetrySettings? _retry;

        internal TaskBuilder(string id, string worker, ParallelFlowWorker? inline) =>
            // An empty or malformed id (or worker) is one of the plan's errors, reported with all the others by Build.
            (_id, _worker, _inline) = (id ?? string.Empty, worker ?? string.Empty, inline);

        /// <summary>Describes the task.</summary>
        /// <param name="description">What the task is for.</param>
        /// <returns>This builder.</returns>
        public TaskBuilder Describe(string description)
        {
            _description = description;
            return this;
        }

        /// <summary>Sets the worker's parameters, from any object that serialises to a JSON object.</summary>
        /// <param name="parameters">The parameters, for example <c>new { seconds = 0.5 }</c>.</param>
        /// <returns>This builder.</returns>
        /// <remarks>Serialised by reflection over the object's type. A trimmed or natively compiled host passes a
        /// <see cref="JsonElement"/> (<see cref="With(JsonElement)"/>) or a type of its own with its generated
        /// serialisation (<see cref="With{TParameters}(TParameters, JsonTypeInfo{TParameters})"/>).</remarks>
        [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(ByReflection)]
        [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(ByReflection)]
        public TaskBuilder With(object parameters)
        {
            _with = parameters is JsonElement element ? element.Clone() : JsonSerializer.SerializeToElement(parameters);
            return this;
        }

        /// <summary>Sets the worker's parameters.</summary>
        /// <param name="parameters">The parameters: a JSON object (parsed with <c>JsonElement.Parse</c>, or built with
        /// <c>JsonObject</c> and parsed from its <c>ToJsonString()</c>). A copy is kept.</param>
        /// <returns>This builder.</returns>
        public TaskBuilder With(JsonElement parameters)
        {
            _with = parameters.Clone();
            return this;
        }

        /// <summary>Sets the worker's parameters from a value whose serialisation is generated at compile time (a
        /// <c>JsonSerializerContext</c>'s): no reflection, so a trimmed or natively compiled host can use it.</summary>
        /// <typeparam name="TParameters">The parameters' type.</typeparam>
        /// <param name="parameters">The parameters; they serialise to a JSON object.</param>
        /// <param name="typeInfo">Their serialisation, for example <c>MyJsonContext.Default.SleepParameters</c>.</param>
        /// <returns>This builder.</returns>
        public TaskBuilder With<TParameters>(TParameters parameters, JsonTypeInfo<TParameters> typeInfo)
        {
            _with = JsonSerializer.SerializeToElement(parameters, typeInfo);
            return this;
        }

        private const string ByReflection = "Parameters given as an object are serialised by reflection over its type, which trimming and native AOT do not keep. Pass a JsonElement, or a value with its JsonTypeInfo.";

        /// <summary>Adds hard dependencies.</summary>
        /// <param name="taskIds">Tasks that must succeed first.</param>
        /// <returns>This builder.</returns>
        public TaskBuilder DependsOn(params string[] taskIds)
        {
            _dependsOn.AddRange(taskIds);
            return this;
        }

        /// <summary>Adds soft dependencies.</summary>
        /// <param name="taskIds">Tasks that must finish first, whatever their status.</param>
        /// <returns>This builder.</returns>
        public TaskBuilder After(params string[] taskIds)
        {
            _after.AddRange(taskIds);
            return this;
        }

        /// <summary>Sets the task's priority.</summary>
        /// <param name="priority">The priority.</param>
        /// <returns>This builder.</returns>
        public TaskBuilder Priority(TaskPriority priority)
        {
            _priority = priority;
            return this;
        }

        /// <summary>Sets each attempt's time limit.</summary>
        /// <param name="timeout">The limit.</param>
        /// <returns>This builder.</returns>
        public TaskBuilder Timeout(TimeSpan timeout)
        {
            _timeout = timeout.TotalSeconds;
            return this;
        }

        /// <summary>Sets the expected duration, for the critical path.</summary>
        /// <param name="estimate">The expected duration.</param>
        /// <returns>This builder.</returns>
        public TaskBuilder Estimate(TimeSpan estimate)
        {
            _estimate = estimate.TotalSeconds;
            return this;
        }

        /// <summary>Sets the tokens the task is expected to use, for run budgets.</summary>
        /// <param name="tokens">Expected tokens.</param>
        /// <returns>This builder.</returns>
        public TaskBuilder EstimateTokens(long tokens)
        {
            _estimateTokens = tokens;
            return this;
        }

        /// <summary>Sets the cost the task is expected to have, for run budgets.</summary>
        /// <param name="cost">Expected cost.</param>
        /// <returns>This builder.</returns>
        public TaskBuilder EstimateCost(decimal cost)
        {
            _estimateCost = cost;
            return this;
        }

        /// <summary>Cuts down the task's dependencies' outputs over a limit before it receives them.</summary>
        /// <param name="context">The limit and how to keep under it.</param>
        /// <returns>This builder.</returns>
        public TaskBuilder Context(ContextSettings context)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            return this;
        }

        /// <summary>Allows or forbids reusing a cached result for this task.</summary>
        /// <param name="enabled">True to allow, false to always execute.</param>
        /// <returns>This builder.</returns>
        public TaskBuilder Cache(bool enabled)
        {
            _cache = enabled;
            return this;
        }

        /// <summary>Sets the task's own retry settings.</summary>
        /// <param name="retry">The settings.</param>
        /// <returns>This builder.</returns>
        public TaskBuilder Retry(RetrySettings retry)
        {
            _retry = retry;
            return this;
        }

        internal TaskDefinition Build() => new()
        {
            Id = _id,
            Worker = _worker,
            Description = _description,
            With = _with,
            DependsOn = [.. _dependsOn],
            After = [.. _after],
            Priority = _priority,
            TimeoutSeconds = _timeout,
            EstimateSeconds = _estimate,
            EstimateTokens = _estimateTokens,
            EstimateCost = _estimateCost,
            Cache = _cache,
            Context = _context,
            Retry = _retry,
            InlineWorker = _inline,
        };
    }
}
