using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>Each strategy's order, observed with one worker and tasks released one at a time.</summary>
public sealed class StrategyTests
{
    // After "gate", five tasks are ready at once, queued in this plan order.
    private static PlanDefinition Plan()
    {
        var builder = new PlanBuilder("strategies").WithWorkers(1)
            .AddTask("gate", "gated")
            .AddTask("low-short", "gated", t => t.DependsOn("gate").Priority(TaskPriority.Low).Estimate(TimeSpan.FromSeconds(1)))
            .AddTask("normal-long", "gated", t => t.DependsOn("gate").Estimate(TimeSpan.FromSeconds(8)))
            .AddTask("normal-mid", "gated", t => t.DependsOn("gate").Estimate(TimeSpan.FromSeconds(4)))
            .AddTask("critical-mid", "gated", t => t.DependsOn("gate").Priority(TaskPriority.Critical).Estimate(TimeSpan.FromSeconds(3)))
            .AddTask("normal-shortest", "gated", t => t.DependsOn("gate").Estimate(TimeSpan.FromSeconds(0.5)));
        return builder.Build();
    }

    [Theory]
    [InlineData(SchedulingStrategies.CriticalPath, "critical-mid,normal-long,normal-mid,normal-shortest,low-short")]
    [InlineData(SchedulingStrategies.Priority, "critical-mid,normal-long,normal-mid,normal-shortest,low-short")]
    [InlineData(SchedulingStrategies.Fifo, "low-short,normal-long,normal-mid,critical-mid,normal-shortest")]
    [InlineData(SchedulingStrategies.ShortestFirst, "normal-shortest,low-short,critical-mid,normal-mid,normal-long")]
    public async Task Ready_tasks_get_the_worker_in_the_strategys_order(string strategy, string expected)
    {
        var order = await RunAsync(Plan(), new RunOptions { Strategy = strategy });

        Assert.Equal(["gate", .. expected.Split(',')], order);
    }

    [Fact]
    public async Task Priority_keeps_ready_order_within_a_priority_where_critical_path_looks_ahead()
    {
        // Within one priority, "short-then-long" becomes ready first but has a long tail behind it.
        PlanDefinition Chain() => new PlanBuilder("lookahead").WithWorkers(1)
            .AddTask("gate", "gated")
            .AddTask("first-ready", "gated", t => t.DependsOn("gate").Estimate(TimeSpan.FromSeconds(1)))
            .AddTask("long-tail-head", "gated", t => t.DependsOn("gate").Estimate(TimeSpan.FromSeconds(1)))
            .AddTask("tail", "gated", t => t.DependsOn("long-tail-head").Estimate(TimeSpan.FromSeconds(9)))
            .Build();

        var priority = await RunAsync(Chain(), new RunOptions { Strategy = SchedulingStrategies.Priority });
        var criticalPath = await RunAsync(Chain(), new RunOptions());

        Assert.Equal(["gate", "first-ready", "long-tail-head", "tail"], priority);
        Assert.Equal(["gate", "long-tail-head", "tail", "first-ready"], criticalPath);
    }

    [Fact]
    public void A_plan_names_its_strategy_and_a_typo_is_an_error()
    {
        var plan = PlanText.Json("""{ "strategy": "shortest_first", "tasks": [ { "id": "a", "worker": "simulate" } ] }""");
        var errors = PlanText.ErrorsOf(() => PlanText.Json("""{ "strategy": "fifio", "tasks": [ { "id": "a", "worker": "simulate" } ] }"""));

        Assert.Equal(SchedulingStrategies.ShortestFirst, plan.Strategy);
        var error = Assert.Single(errors);
        Assert.Equal("PF0013", error.Code);
        Assert.Equal(1, error.Position?.Line);
        Assert.Contains("unknown strategy 'fifio'; known: critical_path, priority, fifo, shortest_first. Did you mean 'fifo'?", error.Message);
    }

    private static async Task<string[]> RunAsync(PlanDefinition plan, RunOptions options)
    {
        var gated = new GatedWorker();
        var run = TestEngines.With(null, ("gated", gated)).Compile(plan).Start(options);
        for (var i = 0; i < plan.Tasks.Count; i++)
        {
            var next = await gated.NextStartedAsync().Within();
            gated.Release(next);
        }

        Assert.Equal(RunStatus.Succeeded, (await run.Completion.Within()).Status);
        return [.. gated.StartOrder];
    }
}
