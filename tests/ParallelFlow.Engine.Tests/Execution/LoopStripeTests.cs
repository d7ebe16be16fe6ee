using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>Which of a lane run's ready sets an executor's loops take as their own (<see cref="ExecutorLoop.Stripe"/>):
/// each loop running at once a number of its own, the lowest free.</summary>
public sealed class LoopStripeTests
{
    [Fact]
    public async Task Two_loops_at_once_have_numbers_of_their_own_and_a_later_loop_the_lowest_free()
    {
        var compiled = new ParallelFlowEngine().Compile(new PlanBuilder("two").WithWorkers(2)
            .AddTask("a", "simulate")
            .AddTask("b", "simulate")
            .Build());
        using var host = new RecordingHost(waitFor: 2);
        var executor = InProcessExecutor.Factory(host, compiled, [2]);

        // Both loops hold their task until the other has started: they run at once.
        executor.Start(0, 0);
        executor.Start(1, 0);
        await host.AllFinished.Task.Within();
        Assert.Equal([0, 1], host.Stripes.Order());

        // Once both loops have ended (the executor idle and kept by the plan), the next loop has the first number again.
        executor.Complete();
        await host.Idle.Task.Within();
        InProcessExecutor? idle = null;
        Assert.True(SpinWait.SpinUntil(() => (idle = compiled.TakeIdleExecutor()) is not null, Bounded.Limit));
        Assert.Same(executor, idle);
        Assert.True(compiled.KeepIdleExecutor(idle!));
        using var again = new RecordingHost(waitFor: 1);
        var reused = InProcessExecutor.Factory(again, compiled, [2]);
        Assert.Same(executor, reused);
        reused.Start(0, 0);
        await again.AllFinished.Task.Within();
        Assert.Equal([0], again.Stripes);
    }

    [Fact]
    public async Task A_run_on_one_worker_takes_tied_tasks_in_plan_order()
    {
        // A root and twenty dependents of one tie (the same remaining path), answered at once: one worker, one loop,
        // plan order.
        var worker = new StartsWorker();
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("starts", worker);
        var builder = new PlanBuilder("fan").WithWorkers(1).AddTask("root", "starts");
        for (var i = 0; i < 20; i++)
        {
            builder.AddTask($"t{i:00}", "starts", t => t.DependsOn("root"));
        }

        using var result = await new ParallelFlowEngine(new EngineOptions { Catalog = catalog }).Compile(builder.Build()).RunAsync().Within();
        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal(["root", .. Enumerable.Range(0, 20).Select(i => $"t{i:00}")], worker.Started);
    }

    /// <summary>Answers at once and records the order tasks started in.</summary>
    private sealed class StartsWorker : Sdk.ParallelFlowWorker
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Started { get; } = new();

        public override bool KeepsRequests => false;

        public override ValueTask<Sdk.TaskResult> ExecuteAsync(Sdk.TaskRequest request, CancellationToken cancellationToken)
        {
            Started.Enqueue(request.TaskId);
            return ValueTask.FromResult(Sdk.TaskResult.Empty);
        }
    }

    /// <summary>An execution host that records each loop's number and holds each task until
    /// <c>waitFor</c> tasks have started.</summary>
    private sealed class RecordingHost(int waitFor) : IExecutionHost, IDisposable
    {
        private readonly Barrier _together = new(waitFor);
        private int _left = waitFor;

        public System.Collections.Concurrent.ConcurrentBag<int> Stripes { get; } = [];

        /// <summary>Every task held has been handed back.</summary>
        public TaskCompletionSource AllFinished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The executor has no loop left (<see cref="IExecutionHost.ExecutorIdle"/>).</summary>
        public TaskCompletionSource Idle { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ExecutionContext? Context => null;

        public ValueTask ExecuteAsync(int task, ref ExecutorLoop loop)
        {
            Stripes.Add(loop.Stripe);
            if (!_together.SignalAndWait(Bounded.Limit))
            {
                // Not thrown here: a host's ExecuteAsync never throws, and the test would only see a timeout.
                AllFinished.TrySetException(new TimeoutException($"task {task}: the other loop did not start within {Bounded.Limit}"));
            }

            return default;
        }

        public int Finished(int task, int callerGroup) => -1;

        public int Finished(int task, int callerGroup, ref ExecutorLoop loop)
        {
            if (Interlocked.Decrement(ref _left) == 0)
            {
                AllFinished.TrySetResult();
            }

            return -1;
        }

        public void ExecutorIdle() => Idle.TrySetResult();

        public void Dispose() => _together.Dispose();
    }
}
