using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Replay;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests.Plans;

public sealed class WorkflowTraceTests
{
    private static string Fixture => Path.Combine(AppContext.BaseDirectory, "Plans", "Fixtures", "diamond.wfformat.json");

    [Fact]
    public void A_WfFormat_trace_becomes_simulate_tasks_with_scaled_runtimes_and_its_parents()
    {
        var plan = PlanLoader.LoadWorkflow(Fixture, timeScale: 0.01);

        Assert.Equal("diamond", plan.Id);
        Assert.Equal(["split_1", "left_2", "right_3", "join_4"], plan.Tasks.Select(t => t.Id));
        Assert.All(plan.Tasks, t => Assert.Equal("simulate", t.Worker));
        var join = plan.Tasks.Single(t => t.Id == "join_4");
        Assert.Equal(["left_2", "right_3"], join.DependsOn);
        Assert.Equal(0.2, join.With.GetProperty("seconds").GetDouble(), 9);
        Assert.Equal(0.4, plan.Tasks.Single(t => t.Id == "left_2").EstimateSeconds!.Value, 9);

        // The critical path is split → left → join: (10 + 40 + 20) recorded seconds.
        var analysis = ParallelFlowEngine.Analyze(plan);
        Assert.Equal(0.7, analysis.CriticalPathSeconds, 9);
        Assert.Equal(["split_1", "left_2", "join_4"], analysis.CriticalPath);
    }

    [Fact]
    public async Task A_CPU_bound_replay_computes_instead_of_sleeping()
    {
        var engine = TestEngines.With();
        var plan = engine.LoadWorkflow(Fixture, timeScale: 0.0001, ReplayMode.Cpu);

        Assert.All(plan.Tasks, t => Assert.Equal("cpu", t.With.GetProperty("mode").GetString()));
        Assert.EndsWith("(WfCommons trace replayed at 0.0001x recorded time, CPU-bound)", plan.Description, StringComparison.Ordinal);
        var result = await engine.RunAsync(plan, new Engine.Execution.RunOptions { Workers = 2 }).Within();
        Assert.Equal(Engine.Execution.RunStatus.Succeeded, result.Status);
    }

    [Fact]
    public void A_trace_loads_as_a_plan_file_too_at_the_default_scale()
    {
        var plan = PlanLoader.LoadFile(Fixture);

        Assert.Equal(0.04, plan.Tasks.Single(t => t.Id == "left_2").EstimateSeconds!.Value, 9);
    }

    [Fact]
    public void A_task_without_a_runtime_is_named()
    {
        var path = Path.Combine(Path.GetTempPath(), $"trace-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, File.ReadAllText(Fixture).Replace("""{ "id": "right_3", "runtimeInSeconds": 20 },""", string.Empty, StringComparison.Ordinal));
        try
        {
            var error = Assert.Single(Assert.Throws<PlanValidationException>(() => PlanLoader.LoadWorkflow(path)).Errors);
            Assert.Equal("right_3", error.TaskId);
            Assert.Contains("task 'right_3' has no runtimeInSeconds in workflow.execution.tasks", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_replayed_trace_runs_on_the_clock_with_its_recorded_shape()
    {
        var clock = new ObservedClock();
        var engine = TestEngines.With(clock);
        var run = engine.Compile(engine.LoadWorkflow(Fixture, timeScale: 1)).Start();

        Assert.Equal(TimeSpan.FromSeconds(10), await clock.NextTimerAsync());
        clock.Advance(TimeSpan.FromSeconds(10));
        var branches = new[] { await clock.NextTimerAsync(), await clock.NextTimerAsync() };
        Assert.Equal([TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(40)], branches.Order());
        clock.Advance(TimeSpan.FromSeconds(40));
        Assert.Equal(TimeSpan.FromSeconds(20), await clock.NextTimerAsync());
        clock.Advance(TimeSpan.FromSeconds(20));

        var result = await run.Completion.Within();
        Assert.Equal(TimeSpan.FromSeconds(70), result.Elapsed);
    }
}
