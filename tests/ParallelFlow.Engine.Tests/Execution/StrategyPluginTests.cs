using Microsoft.Extensions.Time.Testing;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Plugins;
using ParallelFlow.Engine.Tests.Support;
using ParallelFlow.Engine.Workers;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>Strategies from plugins, and the critical path following the durations a run observes.</summary>
public sealed class StrategyPluginTests
{
    [Fact]
    public async Task A_plugin_strategy_orders_the_ready_tasks_by_its_comparison()
    {
        // After "gate", four tasks are ready at once; they have 0, 2, 1 and 2 dependents.
        var plan = new PlanBuilder("fan-out").WithWorkers(1)
            .AddTask("gate", "gated")
            .AddTask("none", "gated", t => t.DependsOn("gate"))
            .AddTask("two-a", "gated", t => t.DependsOn("gate"))
            .AddTask("one", "gated", t => t.DependsOn("gate"))
            .AddTask("two-b", "gated", t => t.DependsOn("gate"))
            .AddTask("after-a", "gated", t => t.DependsOn("two-a", "one"))
            .AddTask("after-b", "gated", t => t.DependsOn("two-a", "two-b"))
            .AddTask("after-c", "gated", t => t.DependsOn("two-b"))
            .Build();

        var (order, result) = await RunGatedAsync(plan, new RunOptions { Strategy = "most_dependents" },
            catalog => catalog.AddStrategy("most_dependents", new MostDependentsFirst()));

        // Most dependents first, ties by plan position, last first; the plugin's order decides, not the plan's.
        Assert.Equal(["gate", "two-b", "two-a", "one", "after-c", "after-b", "after-a", "none"], order);
        Assert.Equal(("most_dependents", null), (result.Strategy.Name, result.Strategy.Failure));
    }

    [Fact]
    public async Task A_strategy_is_told_each_ready_tasks_estimate_remaining_path_and_dependents()
    {
        var recording = new RecordingStrategy();
        var plan = new PlanBuilder("told").WithWorkers(1)
            .AddTask("gate", "gated")
            .AddTask("head", "gated", t => t.DependsOn("gate").Estimate(TimeSpan.FromSeconds(2)).Priority(TaskPriority.High))
            .AddTask("other", "gated", t => t.DependsOn("gate").Estimate(TimeSpan.FromSeconds(1)))
            .AddTask("tail", "gated", t => t.DependsOn("head").Estimate(TimeSpan.FromSeconds(5)))
            .Build();

        // The gate takes exactly its estimate (1 s) on the fake clock, so the observed correction is 1.
        await RunGatedAsync(plan, new RunOptions { Strategy = "recording" }, catalog => catalog.AddStrategy("recording", recording), new FakeTimeProvider());

        var head = recording.Seen["head"];
        Assert.Equal(("gated", (int)TaskPriority.High, 1, 2.0, 7.0, 1), (head.Worker, head.Priority, head.Index, head.EstimateSeconds, head.RemainingSeconds, head.Dependents));
        Assert.True(recording.Seen["other"].ReadyOrder > head.ReadyOrder, "head became ready before other, in plan order");
    }

    [Fact]
    public async Task A_strategy_that_throws_is_reported_and_the_run_goes_on_in_ready_order()
    {
        var plan = new PlanBuilder("broken").WithWorkers(1)
            .AddTask("gate", "gated")
            .AddTask("first", "gated", t => t.DependsOn("gate"))
            .AddTask("second", "gated", t => t.DependsOn("gate"))
            .AddTask("third", "gated", t => t.DependsOn("gate"))
            .Build();

        var (order, result) = await RunGatedAsync(plan, new RunOptions { Strategy = "throws" },
            catalog => catalog.AddStrategy("throws", new ThrowingStrategy()));

        Assert.Equal(["gate", "first", "second", "third"], order);
        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal("strategy 'throws' failed (InvalidOperationException: broken comparison); the rest of the run took tasks in ready order", result.Strategy.Failure);
    }

    [Fact]
    public void A_plan_may_name_a_plugin_strategy_and_an_unknown_one_lists_them_all()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddStrategy("most_dependents", new MostDependentsFirst());

        var plan = PlanLoader.Parse("""{ "strategy": "most_dependents", "tasks": [ { "id": "a", "worker": "simulate" } ] }""", PlanFormat.Json, "plan.json", catalog);
        var errors = Assert.Throws<PlanValidationException>(() =>
            PlanLoader.Parse("{\n  \"strategy\": \"most_dependent\",\n  \"tasks\": [ { \"id\": \"a\", \"worker\": \"simulate\" } ]\n}", PlanFormat.Json, "plan.json", catalog)).Errors;

        Assert.Equal("most_dependents", plan.Strategy);
        var error = Assert.Single(errors);
        Assert.Equal(("PF0013", 2), (error.Code, error.Position?.Line));
        Assert.Equal("unknown strategy 'most_dependent'; known: critical_path, priority, fifo, shortest_first, most_dependents. Did you mean 'most_dependents'?", error.Message);
    }

    [Fact]
    public void A_run_naming_an_unknown_strategy_is_refused_before_it_starts()
    {
        var compiled = TestEngines.With().Compile(new PlanBuilder("p").AddTask("a", "simulate").Build());

        var error = Assert.Throws<ArgumentException>(() => compiled.Start(new RunOptions { Strategy = "fastest" }));

        Assert.Contains("unknown strategy 'fastest'; known: critical_path, priority, fifo, shortest_first", error.Message);
    }

    [Fact]
    public void A_plugin_registers_strategies_and_may_not_take_a_built_in_name()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        PluginHost.Register(catalog, new StrategyPlugin("most_dependents"));
        var builtIn = Assert.Throws<InvalidOperationException>(() => PluginHost.Register(catalog, new StrategyPlugin("fifo")));
        var twice = Assert.Throws<InvalidOperationException>(() => PluginHost.Register(catalog, new StrategyPlugin("most_dependents")));

        Assert.Equal(["critical_path", "priority", "fifo", "shortest_first", "most_dependents"], catalog.StrategyNames);
        Assert.Equal("the strategy 'fifo' is built in; choose another name", builtIn.Message);
        Assert.Contains("the strategy 'most_dependents', already in the catalog", twice.Message);
    }

    [Fact]
    public async Task The_critical_path_follows_observed_durations_across_worker_types()
    {
        // Every task is estimated at 1 s. Two probes run first (critical priority): a fast task takes 1 s, a slow one
        // 10 s. By estimate, the fast chain (3 tasks) is longer than the slow one (2); by what was observed, the slow
        // chain is 20 s against 3 s, and the run must switch to it.
        var plan = new PlanBuilder("observed").WithWorkers(1)
            .AddTask("fast-probe", "fast", t => t.Priority(TaskPriority.Critical))
            .AddTask("slow-probe", "slow", t => t.Priority(TaskPriority.Critical))
            .AddTask("f1", "fast")
            .AddTask("f2", "fast", t => t.DependsOn("f1"))
            .AddTask("f3", "fast", t => t.DependsOn("f2"))
            .AddTask("s1", "slow")
            .AddTask("s2", "slow", t => t.DependsOn("s1"))
            .Build();
        var clock = new FakeTimeProvider();
        var gated = new GatedWorker();
        var engine = TestEngines.With(clock, ("fast", gated), ("slow", gated));
        var run = engine.Compile(plan).Start();
        for (var i = 0; i < plan.Tasks.Count; i++)
        {
            var next = await gated.NextStartedAsync().Within();
            clock.Advance(TimeSpan.FromSeconds(next.StartsWith('s') ? 10 : 1));
            gated.Release(next);
        }

        var result = await run.Completion.Within();
        Assert.Equal(["fast-probe", "slow-probe", "s1", "s2", "f1", "f2", "f3"], gated.StartOrder);
        Assert.True(result.Strategy.Reranks >= 1, $"re-ranked {result.Strategy.Reranks} times");
    }

    [Fact]
    public async Task With_one_worker_type_observed_durations_scale_every_path_alike_and_nothing_is_re_ranked()
    {
        var plan = new PlanBuilder("uniform").WithWorkers(1)
            .AddTask("gate", "gated")
            .AddTask("a", "gated", t => t.DependsOn("gate"))
            .AddTask("b", "gated", t => t.DependsOn("a"))
            .AddTask("c", "gated", t => t.DependsOn("gate"))
            .Build();

        var (order, result) = await RunGatedAsync(plan, new RunOptions(), _ => { });

        Assert.Equal(["gate", "a", "b", "c"], order);
        Assert.Equal(("critical_path", 0), (result.Strategy.Name, result.Strategy.Reranks));
    }

    /// <summary>Runs a plan of gated tasks, releasing each as it starts; on a fake clock, each takes its estimate.</summary>
    private static async Task<(string[] Order, RunResult Result)> RunGatedAsync(PlanDefinition plan, RunOptions options, Action<WorkerCatalog> register, FakeTimeProvider? clock = null)
    {
        var gated = new GatedWorker();
        var engine = TestEngines.With(clock, ("gated", gated));
        register(engine.Catalog);
        var run = engine.Compile(plan).Start(options);
        for (var i = 0; i < plan.Tasks.Count; i++)
        {
            var next = await gated.NextStartedAsync().Within();
            clock?.Advance(TimeSpan.FromSeconds(plan.Tasks.Single(t => t.Id == next).EstimateSeconds ?? 1));
            gated.Release(next);
        }

        var result = await run.Completion.Within();
        Assert.Equal(RunStatus.Succeeded, result.Status);
        return ([.. gated.StartOrder], result);
    }

    private sealed class StrategyPlugin(string name) : ParallelFlowPlugin
    {
        public override void Register(IPluginRegistrar registrar) => registrar.AddStrategy(name, new MostDependentsFirst());
    }
}
