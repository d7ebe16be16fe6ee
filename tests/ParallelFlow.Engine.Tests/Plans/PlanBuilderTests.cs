using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Plans;

public sealed class PlanBuilderTests
{
    [Fact]
    public async Task ABuiltPlan_MixesDelegateAndCatalogTasks()
    {
        var plan = new PlanBuilder("code-first")
            .AddTask("fetch", (_, _) => ValueTask.FromResult(TaskResult.FromText("42 rows")))
            .AddTask("report", "template", t => t.DependsOn("fetch").With(new { text = "Got {{fetch}}" }))
            .Build();

        var result = await new ParallelFlowEngine().RunAsync(plan).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal("Got 42 rows", result.Tasks[1].Result!.Text);
    }

    [Fact]
    public void Build_ReportsEveryProblem()
    {
        var builder = new PlanBuilder("broken")
            .AddTask("a", "simulate", t => t.DependsOn("missing"))
            .AddTask("a", "simulate")
            .AddTask("b", "simulate", t => t.DependsOn("c"))
            .AddTask("c", "simulate", t => t.DependsOn("b"));

        var errors = Assert.Throws<PlanValidationException>(builder.Build).Errors;

        Assert.Equal(["PF0005", "PF0006", "PF0007"], errors.Select(e => e.Code).Order());
    }

    [Fact]
    public void Compile_AnUnknownWorker_IsReportedWithTheTask()
    {
        var plan = new PlanBuilder("unknown").AddTask("a", "nobody").Build();

        var error = Assert.Single(Assert.Throws<PlanValidationException>(() => new ParallelFlowEngine().Compile(plan)).Errors);

        Assert.Equal(("PF0008", "a"), (error.Code, error.TaskId));
    }
}
