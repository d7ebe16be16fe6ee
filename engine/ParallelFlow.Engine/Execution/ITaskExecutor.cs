using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// Where a run's tasks execute: the seam between the scheduler, which decides which ready task gets a worker slot and
/// when, and whatever runs it. The scheduler knows nothing else about threads, blocks or machines.
/// </summary>
/// <remarks>
/// <para>The contract, in order: the scheduler calls <see cref="Start"/> for a task it has counted as running; the
/// executor, on a thread of its own, calls <see cref="IExecutionHost.ExecuteAsync"/>, which runs the task's attempts
/// (cache, timeout, retries) and calls back <see cref="InvokeAsync"/> for each attempt; then
/// <see cref="IExecutionHost.Finished(int, int)"/> (or its overload for a loop), exactly once, which takes the scheduling step. Cancellation reaches the
/// attempt through the token of <see cref="InvokeAsync"/> (the run's, linked with the attempt's timeout).</para>
/// <para>The scheduler enforces the global and per-worker-type limits before <see cref="Start"/>; an executor never
/// gets more tasks of a group at once than the capacity it was made with.</para>
/// </remarks>
internal interface ITaskExecutor
{
    /// <summary>Starts a task the scheduler has given a worker slot. Called right after the scheduling step that
    /// counted it, outside the run's gate, from any thread: returns at once, never runs the task on the calling thread,
    /// never throws.</summary>
    void Start(int task, int group);

    /// <summary>Runs one attempt of the task's worker. May throw, or return a faulted task: either is the attempt's failure.</summary>
    ValueTask<TaskResult> InvokeAsync(int task, TaskRequest request, CancellationToken cancellationToken);

    /// <summary>The run has ended: every task it started has been handed back, and none will be started again. Called
    /// under the run's gate.</summary>
    void Complete();
}

/// <summary>The run's side of the executor seam.</summary>
internal interface IExecutionHost
{
    /// <summary>The execution context the run was made in, which its tasks run in; null when its flow was suppressed.</summary>
    ExecutionContext? Context { get; }

    /// <summary>Executes a started task to its outcome and writes it in the run's task table. Never throws.</summary>
    /// <param name="task">The task.</param>
    /// <param name="loop">What the calling loop carries from one task to the next (<see cref="ExecutorLoop"/>).</param>
    ValueTask ExecuteAsync(int task, ref ExecutorLoop loop);

    /// <summary>Hands back a task whose outcome is written, and takes the scheduling step.</summary>
    /// <param name="task">The task.</param>
    /// <param name="callerGroup">The group of a caller that can run a next task of that group itself on this thread
    /// (the inline fast path), or −1 for a caller that cannot.</param>
    /// <returns>A task of <paramref name="callerGroup"/>, already counted as running, which the caller must execute
    /// next itself; or −1.</returns>
    int Finished(int task, int callerGroup);

    /// <summary><see cref="Finished(int, int)"/> for a caller that runs the tasks it is handed one after another in one
    /// loop: successes may be counted in the loop's own count (<see cref="ExecutorLoop.Unsettled"/>), and added to the
    /// run's only when the loop is handed no task (its worker is then free), instead of one atomic increment per task on
    /// a count every thread writes. Start the loop with 0; it is 0 again whenever this returns −1. The loop's
    /// <see cref="ExecutorLoop.Stripe"/> says which of a lane run's ready sets is the loop's own.</summary>
    int Finished(int task, int callerGroup, ref ExecutorLoop loop);

    /// <summary>The run has completed and none of the executor's delegates runs any more: nothing of the executor reads
    /// or writes the run's arrays again (a worker abandoned after its grace period may still run: such a run keeps its
    /// arrays, <see cref="TaskTable.Arrays"/>). Called once, by an executor that knows (the in-process one).</summary>
    void ExecutorIdle();
}

/// <summary>What an executor's loop carries from one task to the next, for <see cref="IExecutionHost"/>: kept by the
/// loop, not by its thread, so that reading it takes no thread-static access per task. Passed by reference only, never
/// copied: it owns its spare request, and a copy would lend that request to two attempts.</summary>
internal struct ExecutorLoop
{
    /// <summary>The task the loop executed just before, with only its scheduling step between (the inline fast path):
    /// its end stands for the next one's start, unless one of that task's dependencies ended later. −1 otherwise.</summary>
    public int Previous;

    /// <summary>Successes the loop has counted and the run not yet (<see cref="IExecutionHost.Finished(int, int, ref ExecutorLoop)"/>).</summary>
    public int Unsettled;

    /// <summary>Which of a lane run's ready sets is the loop's own (<see cref="LaneSets.Claim"/>): taken at its first
    /// success in the lane, given back when it gives its worker back; −1 while it has none.</summary>
    public int Stripe;

    /// <summary>The execution context the loop runs its tasks in: what a worker changes of it is undone when the worker
    /// returns, so each task starts in it. Null when its flow is suppressed.</summary>
    public ExecutionContext? Context;

    /// <summary>A request object no attempt has, which the loop's next attempt of a worker that keeps no request past
    /// its attempt fills in (<see cref="CompiledPlan.LendsRequests"/>); null until one is given back.</summary>
    public TaskRequest? Spare;

    /// <summary>The loop's looks at the other workers' ready sets in a lane run of short tasks (<see cref="LaneSets"/>'
    /// remarks).</summary>
    public LaneLooks Looks;

    /// <summary>A loop's start, in the calling thread's current context.</summary>
    public static ExecutorLoop Start() => new() { Previous = -1, Stripe = -1, Context = ExecutionContext.Capture(), Looks = LaneLooks.None };

    /// <summary>A loop for a caller that runs one task at a time and keeps nothing between them.</summary>
    public static ExecutorLoop Once() => new() { Previous = -1, Stripe = -1, Looks = LaneLooks.Never };
}

/// <summary>Makes a run's executor.</summary>
/// <param name="host">The run.</param>
/// <param name="plan">The compiled plan (its workers, by task).</param>
/// <param name="groupCapacity">The most tasks of each group the scheduler will have started at once.</param>
internal delegate ITaskExecutor TaskExecutorFactory(IExecutionHost host, CompiledPlan plan, IReadOnlyList<int> groupCapacity);
