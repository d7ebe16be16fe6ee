using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Workers;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Plugins;

public sealed class CatalogTests
{
    [Fact]
    public void TheCatalog_TakesRegistrations_UntilItsEngineCompilesAPlan_ThenSaysWhy()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        var engine = new ParallelFlowEngine(new EngineOptions { Catalog = catalog });
        catalog.AddWorker("late-but-in-time", new Echo());
        Assert.False(catalog.IsFrozen);

        engine.Compile(new PlanBuilder("p").AddTask("a", "late-but-in-time").Build());

        Assert.True(catalog.IsFrozen);
        var error = Assert.Throws<InvalidOperationException>(() => catalog.AddWorker("too-late", new Echo()));
        Assert.Equal("The catalog is frozen: an engine has compiled a plan with it. Set every worker before the first plan is compiled.", error.Message);
        Assert.Throws<InvalidOperationException>(() => catalog.StageDefaults = StageDefaults.Default with { ModelWorker = "chat" });
        Assert.DoesNotContain("too-late", catalog.WorkerNames);
    }

    private sealed class Echo : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TaskResult.FromText(request.TaskId));
    }
}
