using System.Threading.Tasks.Dataflow;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// Runs tasks in this process: one bounded <see cref="ActionBlock{T}"/> per worker type, with parallelism set to that
/// type's limit. A task that finishes takes the scheduling step on its own thread and runs the next ready task of its
/// type itself when the step hands it one (the inline fast path), so a chain goes on without a thread-pool hop.
/// </summary>
/// <remarks>A run that ends gives its executor back to its compiled plan, and the plan's next run with the same limits
/// takes it again: the blocks, their queues and options (about 2 KB, most of what a small run allocated) are made once
/// per plan instead of once per run. The blocks are never completed while kept; they hold no thread when idle.</remarks>
internal sealed class InProcessExecutor : ITaskExecutor
{
    /// <summary>Makes the executor the engine uses unless a run names another.</summary>
    public static readonly TaskExecutorFactory Factory = Create;

    private readonly CompiledPlan _plan;
    private readonly int[] _capacity;

    // The run this executor serves; null while it waits in its plan for the next.
    private IExecutionHost? _host;

    // Delegates running (each from its first task to its last) in the low bits, and whether the run completed (Done),
    // in one word: the executor goes back once the run completed and no delegate runs — no delegate of the old run then
    // still holds a slot of a block (the code awaiting a run's completion may continue on its last delegate's thread,
    // and start the plan's next run there). One word, so exactly one operation sees both at once: the delegate whose
    // decrement leaves Done alone, or the completion that finds no delegate. Two words let a delegate that counted
    // itself out read "done" late — after the executor had gone back and served the next run — and give it back again.
    private int _state;
    private const int Done = 1 << 30;

    private readonly ParallelFlowWorker[] _workers;
    private readonly int[] _group;
    private readonly ActionBlock<int>[] _blocks;

    private InProcessExecutor(IExecutionHost host, CompiledPlan plan, IReadOnlyList<int> groupCapacity)
    {
        _host = host;
        _plan = plan;
        _capacity = [.. groupCapacity];
        _workers = plan.Workers;
        _group = plan.Group;
        _blocks = new ActionBlock<int>[groupCapacity.Count];
        Func<int, Task> run = RunAsync;
        for (var g = 0; g < _blocks.Length; g++)
        {
            // A block holds the tasks the scheduler counts as running in its group, plus at most one finishing task
            // per slot that has already left the count but whose delegate has not returned yet: twice the group's
            // capacity, so a Post from the scheduling step is never refused. Blocks never fault: whatever a worker
            // throws becomes its task's status in ExecuteAsync.
            _blocks[g] = new ActionBlock<int>(run, new ExecutionDataflowBlockOptions
            {
                MaxDegreeOfParallelism = groupCapacity[g],
                BoundedCapacity = 2 * groupCapacity[g],
                EnsureOrdered = false,
            });
        }
    }

    public void Start(int task, int group)
    {
        // The block's processing tasks take no context from the thread that posts: a block serves one run after
        // another, and each task runs in its own run's context (RunAsync).
        if (ExecutionContext.IsFlowSuppressed())
        {
            Post(task, group);
            return;
        }

        using (ExecutionContext.SuppressFlow())
        {
            Post(task, group);
        }
    }

    private void Post(int task, int group)
    {
        if (!_blocks[group].Post(task))
        {
            // Not expected (see the capacity note above); queue it rather than lose it.
            _ = _blocks[group].SendAsync(task);
        }
    }

    public ValueTask<TaskResult> InvokeAsync(int task, TaskRequest request, CancellationToken cancellationToken) =>
        _workers[task].ExecuteAsync(request, cancellationToken);

    public void Complete()
    {
        // Every task of the run has been handed back. Called from inside a delegate (the last task's step) or from the
        // journal's writer: the executor goes back once no delegate runs.
        if (Interlocked.Or(ref _state, Done) == 0)
        {
            GiveBack();
        }
    }

    /// <summary>The executor can serve the plan's next run: a plan keeps one; another is completed and let go.</summary>
    /// <remarks>Called once per run: by the one operation that sees the run completed and no delegate running
    /// (<see cref="_state"/>).</remarks>
    private void GiveBack()
    {
        var host = _host;
        _host = null;
        host?.ExecutorIdle();
        if (!_plan.KeepIdleExecutor(this))
        {
            foreach (var block in _blocks)
            {
                block.Complete();
            }
        }
    }

    /// <summary>The executor the plan's last run gave back, when it has this run's limits; else a new one.</summary>
    private static InProcessExecutor Create(IExecutionHost host, CompiledPlan plan, IReadOnlyList<int> groupCapacity)
    {
        if (plan.TakeIdleExecutor() is { } idle)
        {
            if (groupCapacity.SequenceEqual(idle._capacity))
            {
                // Given back with no delegate running: nothing of the last run touches it again.
                idle._state = 0;
                idle._host = host;
                return idle;
            }

            foreach (var block in idle._blocks)
            {
                block.Complete();
            }
        }

        return new InProcessExecutor(host, plan, groupCapacity);
    }

    /// <summary>Runs the task, and the next ones the run hands this thread, for as long as each answers at once: the
    /// loop of a chain of short tasks, synchronous (no await, and no async state machine's step, between two tasks).</summary>
    /// <returns>The running task of a worker that did not answer at once (<paramref name="task"/> is that task), or a
    /// completed one with <paramref name="task"/> −1 once the run hands this thread nothing more.</returns>
    private static ValueTask RunInline(IExecutionHost host, int group, ref int task, ref ExecutorLoop loop)
    {
        while (task >= 0)
        {
            var running = host.ExecuteAsync(task, ref loop);
            if (!running.IsCompletedSuccessfully)
            {
                return running;
            }

            // Observed, as an await would (a pooled source is released).
            running.GetAwaiter().GetResult();
            loop.Previous = task;
            task = host.Finished(task, group, ref loop);
        }

        return default;
    }

    private async Task RunAsync(int task)
    {
        Interlocked.Increment(ref _state);
        var group = _group[task];
        // Read once per task: a started task's run is the one served until it has handed the task back.
        var host = _host!;
        if (host.Context is { } context)
        {
            // For this method's flow only: an async method gives its caller back the caller's own context.
            ExecutionContext.Restore(context);
        }

        var loop = ExecutorLoop.Start();
        try
        {
            while (task >= 0)
            {
                var running = RunInline(host, group, ref task, ref loop);
                if (task < 0)
                {
                    break;
                }

                // A task whose worker is still busy: its thread is given back until it answers. The loop's spare
                // request stays with the loop, not with the thread, which keeps nothing of the run.
                await running.ConfigureAwait(false);
                loop.Previous = task;
                task = host.Finished(task, group, ref loop);
            }
        }
        finally
        {
            // Emptied, for the next loop on this thread (of any run): it keeps nothing of this one.
            FlowRun.KeepSpareRequest(loop.Spare);

            if (Interlocked.Decrement(ref _state) == Done)
            {
                GiveBack();
            }
        }
    }
}
