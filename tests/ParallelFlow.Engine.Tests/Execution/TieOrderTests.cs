using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>The order within a tie of equally ranked ready tasks: one worker takes them in plan order (with more, each
/// keeps to its own: <see cref="LaneSets"/>).</summary>
public sealed class TieOrderTests
{
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
}
