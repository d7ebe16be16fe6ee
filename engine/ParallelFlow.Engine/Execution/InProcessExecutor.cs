using System.Threading.Tasks.Dataflow;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// Runs tasks in this process: one bounded <see cref="ActionBlock{T}"/> per worker type, with parallelism set to that
/// type's limit. A task that finishes takes the scheduling step on its own thread and runs the next ready task of its
/// type itself when the step hands it one (the inline fast path), so a chain goes on without a thread-pool hop.
/// </summary>
internal sealed class InProcessExecutor : ITaskExecutor
{
    /// <summary>Makes the executor the engine uses unless a run names another.</summary>
    public static readonly TaskExecutorFactory Factory = static (host, plan, capacity) => new InProcessExecutor(host, plan, capacity);

    private readonly IExecutionHost _host;
    private readonly ParallelFlowWorker[] _workers;
    private readonly int[] _group;
    private readonly ActionBlock<int>[] _blocks;

    private InProcessExecutor(IExecutionHost host, CompiledPlan plan, IReadOnlyList<int> groupCapacity)
    {
        _host = host;
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
        foreach (var block in _blocks)
        {
            block.Complete();
        }
    }

    private async Task RunAsync(int task)
    {
        var group = _group[task];
        while (task >= 0)
        {
            await _host.ExecuteAsync(task).ConfigureAwait(false);
            task = _host.Finished(task, group);
        }
    }
}
