namespace ParallelFlow.Sdk;

/// <summary>
/// Does one kind of task. A plan names a worker by the name its plugin registered it under
/// (<see cref="IPluginRegistrar.AddWorker"/>); the engine calls <see cref="ExecuteAsync"/> once per attempt.
/// </summary>
/// <remarks>
/// <para>One instance serves every task of its kind, possibly many at once: implementations must be
/// thread-safe and keep per-task state in locals, not fields.</para>
/// <para><b>Exception contract.</b> Return a <see cref="TaskResult"/> for success. To fail, throw:</para>
/// <list type="bullet">
/// <item><see cref="TransientTaskException"/>: a failure worth another attempt; retried under the task's retry policy.</item>
/// <item><see cref="FatalTaskException"/>: retrying cannot help; the task fails at once.</item>
/// <item><see cref="OperationCanceledException"/> once <c>cancellationToken</c> is cancelled: the engine records
/// <c>timed_out</c> if the task's timeout fired, otherwise <c>cancelled</c>.</item>
/// <item>Any other exception is treated as transient, except programming errors (<see cref="ArgumentException"/>,
/// <see cref="NullReferenceException"/>, <see cref="InvalidCastException"/>, <see cref="NotSupportedException"/>,
/// <see cref="NotImplementedException"/>), which are fatal.</item>
/// </list>
/// <para>Nothing a worker throws escapes the run: it becomes the task's status and error message, and only that
/// task and its hard dependents are affected.</para>
/// </remarks>
public abstract class ParallelFlowWorker
{
    /// <summary>Runs one attempt of a task.</summary>
    /// <param name="request">The task: its id, parameters, the outputs of its hard dependencies and the attempt number.</param>
    /// <param name="cancellationToken">Cancelled when the attempt times out, the run is cancelled, or a fail-fast run fails.
    /// A worker that ignores it is abandoned at its timeout; the run does not wait for it.</param>
    /// <returns>The task's result.</returns>
    public abstract ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken);

    /// <summary>Checks a task's parameters when its plan is validated, before anything runs, so that a typo in
    /// <c>with</c> is reported with its line and column instead of failing (or silently passing) at run time.</summary>
    /// <param name="parameters">The task's <c>with</c> object.</param>
    /// <returns>Everything wrong with the parameters; empty when they are fine. The default accepts anything.</returns>
    /// <remarks>Must not throw; an exception is reported as a problem with the worker.</remarks>
    public virtual IReadOnlyList<ParameterProblem> ValidateParameters(System.Text.Json.JsonElement parameters) => [];

    /// <summary>Binds a task's parameters once, when its plan is compiled; the engine hands the result to every
    /// attempt as <see cref="TaskRequest.Parameters"/>. <see cref="ParallelFlowWorker{TParameters}"/> implements it;
    /// the default binds nothing.</summary>
    /// <param name="parameters">The task's <c>with</c> object, already validated.</param>
    /// <returns>The bound parameters, or null to read <see cref="TaskRequest.With"/> at each attempt.</returns>
    public virtual object? BindParameters(System.Text.Json.JsonElement parameters) => null;

    /// <summary>
    /// Whether the same parameters, description and dependency outputs always give the same result, so a run with a
    /// cache may reuse an earlier result instead of executing (a template, a model call). False by default: a worker
    /// with side effects (a process, a deployment) is executed every time unless a task sets <c>cache: true</c>.
    /// </summary>
    public virtual bool IsDeterministic => false;

    /// <summary>
    /// Whether the worker reports progress as it goes (<see cref="TaskRequest.Progress"/>: a line of a process's output,
    /// a step done), so that a plan's <c>timeouts.worker_heartbeat</c> can take an attempt that stays silent that long
    /// for stuck. False by default: a worker that reports nothing while it waits (a model call that does not stream) is
    /// held only to its timeout.
    /// </summary>
    public virtual bool ReportsProgress => false;

    /// <summary>
    /// What a task with these parameters is expected to take, when the worker can tell before running it (a model
    /// call from its prompt's length). Used by run budgets; null (the default) when unknown. Plans can give
    /// <c>estimate_tokens</c> and <c>estimate_cost</c> instead.
    /// </summary>
    public virtual TaskEstimate? Estimate(System.Text.Json.JsonElement parameters) => null;

    /// <summary>
    /// The GenAI operation the worker performs when it calls a model — <c>chat</c>, <c>text_completion</c>,
    /// <c>embeddings</c> — or null (the default) for a worker that calls none. Its attempts are then traced as the
    /// OpenTelemetry GenAI conventions say: a client span named <c>{operation} {model}</c> with
    /// <c>gen_ai.operation.name</c>, the model (the task's <c>model</c> parameter, else <see cref="TaskResult.Model"/>)
    /// and the token usage.
    /// </summary>
    public virtual string? ModelOperation => null;

    /// <summary>
    /// Whether the worker may still use a request once the task <see cref="ExecuteAsync"/> returned for it has
    /// completed. True by default, and every attempt then gets a request of its own. A worker that reads its request only
    /// until that task completes can say false: the engine may then fill the same <see cref="TaskRequest"/> object in
    /// again for a later attempt — of any task, run or plan — once the last one has completed: about one object per
    /// executor loop (which may move between threads) instead of one per attempt, for workers that answer in well under
    /// a microsecond.
    /// </summary>
    /// <remarks>
    /// <para>Saying false promises that nothing reads the request after the attempt's task completes: no field, no
    /// callback (a registration on the cancellation token, which outlives the attempt), no lazily computed result, no
    /// background work. A request's identity then means nothing: never use it as a key or compare it by reference. A
    /// worker that hands its requests to another may say false only if that one does.</para>
    /// <para>What the worker took out of the request (its id, parameters, inputs, dependency outputs, token) is not
    /// affected by the object's reuse. The engine lends only to an attempt with nothing around it (no timeout, retries,
    /// cache, heartbeat or trace span), and only an attempt that completed at once gives its request back.</para>
    /// </remarks>
    public virtual bool KeepsRequests => true;
}
