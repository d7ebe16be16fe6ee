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
        // Every task of the run has been handed back, and each block's delegates are past their last call to the run:
        // the executor can serve the plan's next run. A plan keeps one; another is completed and let go.
        _host = null;
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

    private async Task RunAsync(int task)
    {
        var group = _group[task];
        // Read once per task: a started task's run is the one served until it has handed the task back.
        var host = _host!;
        while (task >= 0)
        {
            await host.ExecuteAsync(task).ConfigureAwait(false);
            task = host.Finished(task, group);
        }
    }
}
