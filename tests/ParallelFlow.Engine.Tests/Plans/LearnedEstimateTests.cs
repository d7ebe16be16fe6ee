using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Tests.Plans;

/// <summary>What a plan does with estimates learned from earlier runs: a task's own history replaces its written
/// estimate (and its worker's), a task with neither takes its worker type's median, and the critical path and
/// compiled order follow.</summary>
public sealed class LearnedEstimateTests
{
    private const string Plan = """
        { "id": "learned", "tasks": [
          { "id": "guessed-short", "worker": "simulate", "with": { "seconds": 0 }, "estimate_seconds": 0.1 },
          { "id": "guessed-long", "worker": "template", "with": { "text": "x" }, "estimate_seconds": 10 },
          { "id": "unestimated", "worker": "template", "with": { "text": "y" } },
          { "id": "estimated", "worker": "template", "with": { "text": "z" }, "estimate_seconds": 3 },
          { "id": "end", "worker": "template", "depends_on": ["guessed-short", "guessed-long"], "with": { "text": "w" } } ] }
        """;

    private static readonly ParallelFlowEngine Engine = new();

    private static PlanDefinition Load() => PlanLoader.Parse(Plan, PlanFormat.Json, "learned.json", Engine.Catalog);

    [Fact]
    public void Learned_durations_move_the_critical_path_to_what_runs_long()
    {
        var plan = Load();
        var learned = plan.WithHistory(new Dictionary<string, LearnedEstimate>
        {
            ["guessed-short"] = new(20, 5),
            ["guessed-long"] = new(0.5, 5),
            ["end"] = new(1, 3),
            ["elsewhere"] = new(99, 1),
        });

        Assert.Equal(["guessed-long", "end"], ParallelFlowEngine.Analyze(plan).CriticalPath);
        Assert.Equal(["guessed-short", "end"], ParallelFlowEngine.Analyze(learned).CriticalPath);
        Assert.Equal(21, ParallelFlowEngine.Analyze(learned).CriticalPathSeconds, 6);
        // Compiled: the task's own history stands before the simulate worker's own estimate (0 s here).
        var compiled = Engine.Compile(learned);
        Assert.Equal(20, compiled.Estimates[0]);
        Assert.Equal(0.5, compiled.Estimates[1]);
        // The plan is otherwise the same plan: same ids, order and settings.
        Assert.Equal(plan.Tasks.Select(t => (t.Id, t.Worker, t.EstimateSeconds)), learned.Tasks.Select(t => (t.Id, t.Worker, t.EstimateSeconds)));
    }

    [Fact]
    public void A_task_without_history_or_estimate_takes_its_worker_types_median_and_one_with_an_estimate_keeps_it()
    {
        var learned = Load().WithHistory(new Dictionary<string, LearnedEstimate>
        {
            ["guessed-long"] = new(2, 5),
            ["end"] = new(4, 5),
            ["guessed-short"] = new(100, 5),
        });

        var unestimated = learned.Tasks.Single(t => t.Id == "unestimated").Learned!;
        // The median of the template tasks that ran (2 and 4); simulate's 100 s is another worker type.
        Assert.Equal((3.0, 2, true), (unestimated.Seconds, unestimated.Samples, unestimated.FromWorkerType));
        Assert.Null(learned.Tasks.Single(t => t.Id == "estimated").Learned);
        Assert.Equal(3, Engine.Compile(learned).Estimates[2]);
    }

    [Fact]
    public void No_history_leaves_the_plans_estimates_and_a_second_history_replaces_the_first()
    {
        var plan = Load();
        var once = plan.WithHistory(new Dictionary<string, LearnedEstimate> { ["estimated"] = new(7, 1) });
        var cleared = once.WithHistory(new Dictionary<string, LearnedEstimate>());

        Assert.Equal(7, once.Tasks.Single(t => t.Id == "estimated").Learned!.Seconds);
        Assert.All(cleared.Tasks, t => Assert.Null(t.Learned));
        Assert.Equal(ParallelFlowEngine.Analyze(plan).CriticalPathSeconds, ParallelFlowEngine.Analyze(cleared).CriticalPathSeconds);
    }
}
