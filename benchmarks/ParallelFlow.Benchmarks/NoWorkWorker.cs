using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Sdk;

namespace ParallelFlow.Benchmarks;

/// <summary>A worker that does nothing, so a benchmark measures only the scheduler around it.</summary>
public sealed class NoWorkWorker : ParallelFlowWorker
{
    public const string Name = "no-work";

    public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(TaskResult.Empty);

    /// <summary>Keeps nothing of its request: the engine may reuse one request object per thread.</summary>
    public override bool KeepsRequests => false;

    /// <summary>An engine whose catalog holds this worker.</summary>
    public static ParallelFlowEngine Engine()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker(Name, new NoWorkWorker());
        return new ParallelFlowEngine(new EngineOptions { Catalog = catalog });
    }

    /// <summary>A graph of no-work tasks, compiled for the given worker count.</summary>
    /// <param name="graph">The graph.</param>
    /// <param name="workers">The plan's worker count.</param>
    /// <param name="estimate">Every task's estimate (<see cref="Graph.ToPlan"/>).</param>
    public static CompiledPlan Compile(Graph graph, int workers, TimeSpan? estimate = null) => Engine().Compile(graph.ToPlan(Name, workers, estimate));
}
