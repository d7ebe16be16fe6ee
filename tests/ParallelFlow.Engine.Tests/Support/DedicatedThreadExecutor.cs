using System.Collections.Concurrent;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Support;

/// <summary>
/// A test-only executor that proves the executor seam: each started task runs on a new thread of its own, which never
/// takes the inline fast path, and every attempt is invoked on that thread. Records what the scheduler asked of it,
/// and anything that breaks the seam's contract.
/// </summary>
internal sealed class DedicatedThreadExecutor : ITaskExecutor
{
    private readonly IExecutionHost _host;
    private readonly CompiledPlan _plan;
    private readonly ConcurrentDictionary<int, int> _threadOfTask = new();
    private int _completed;

    private DedicatedThreadExecutor(IExecutionHost host, CompiledPlan plan)
    {
        _host = host;
        _plan = plan;
    }

    public ConcurrentDictionary<int, int> Starts { get; } = new();

    public ConcurrentDictionary<int, int> Invocations { get; } = new();

    public ConcurrentQueue<string> Violations { get; } = new();

    public int Completions => Volatile.Read(ref _completed);

    /// <summary>A factory whose runs each get a new executor, kept in <paramref name="made"/>.</summary>
    public static TaskExecutorFactory Factory(ConcurrentQueue<DedicatedThreadExecutor> made) => (host, plan, _) =>
    {
        var executor = new DedicatedThreadExecutor(host, plan);
        made.Enqueue(executor);
        return executor;
    };

    public void Start(int task, int group)
    {
        if (Completions > 0)
        {
            Violations.Enqueue($"task {task} started after the run completed the executor");
        }

        Starts.AddOrUpdate(task, 1, (_, n) => n + 1);
        var thread = new Thread(() =>
        {
            _threadOfTask[task] = Environment.CurrentManagedThreadId;
            var loop = ExecutorLoop.Start();
            _host.ExecuteAsync(task, ref loop).AsTask().GetAwaiter().GetResult();
            FlowRun.KeepSpareRequest(loop.Spare);
            if (_host.Finished(task, callerGroup: -1) is var next and >= 0)
            {
                Violations.Enqueue($"the scheduler handed task {next} to a caller that asked for none");
            }
        })
        {
            IsBackground = true,
            Name = $"task {task}",
        };
        thread.Start();
    }

    public ValueTask<TaskResult> InvokeAsync(int task, TaskRequest request, CancellationToken cancellationToken)
    {
        Invocations.AddOrUpdate(task, 1, (_, n) => n + 1);
        // A first attempt is invoked before anything awaits; a retry comes after a wait, on whatever thread ends it.
        if (request.Attempt == 1 && (!_threadOfTask.TryGetValue(task, out var thread) || thread != Environment.CurrentManagedThreadId))
        {
            Violations.Enqueue($"task {task}'s attempt {request.Attempt} was invoked off the thread its start made");
        }

        return _plan.Workers[task].ExecuteAsync(request, cancellationToken);
    }

    public void Complete()
    {
        if (Interlocked.Increment(ref _completed) > 1)
        {
            Violations.Enqueue("the run completed the executor twice");
        }
    }
}
