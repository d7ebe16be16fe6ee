using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests.Analysis;

public sealed class WorkerEstimateTests
{
    [Fact]
    public void A_workers_own_estimate_stands_in_for_a_missing_estimate_seconds()
    {
        var plan = new PlanBuilder("estimates")
            .AddTask("long", "simulate", t => t.With(new { seconds = 30 }))
            .AddTask("short", "simulate", t => t.With(new { seconds = 2 }).Estimate(TimeSpan.FromSeconds(5)))
            .AddTask("after", "template", t => t.DependsOn("long", "short").With(new { text = "done" }))
            .Build();

        var compiled = TestEngines.With().Compile(plan);

        // simulate estimates its "seconds"; a task's own estimate_seconds wins; template offers none (1 s).
        Assert.Equal(31, compiled.Analysis.CriticalPathSeconds);
        Assert.Equal(["long", "after"], compiled.Analysis.CriticalPath);
    }
}
