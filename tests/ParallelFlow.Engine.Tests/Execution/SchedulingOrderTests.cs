using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests.Execution;

public sealed class SchedulingOrderTests
{
    [Fact]
    public async Task ReadyTasks_GoByPriority_ThenByLongestRemainingPath()
    {
        var gated = new GatedWorker();
        var plan = new PlanBuilder("order")
            .WithWorkers(1)
            .AddTask("gate", "gated")
            .AddTask("low", "gated", t => t.DependsOn("gate").Priority(TaskPriority.Low))
            .AddTask("normal-short", "gated", t => t.DependsOn("gate"))
            .AddTask("normal-long", "gated", t => t.DependsOn("gate").Estimate(TimeSpan.FromSeconds(1)))
            .AddTask("normal-long-tail", "gated", t => t.DependsOn("normal-long").Estimate(TimeSpan.FromSeconds(5)))
            .AddTask("critical", "gated", t => t.DependsOn("gate").Priority(TaskPriority.Critical))
            .Build();
        var run = TestEngines.With(null, ("gated", gated)).Compile(plan).Start();

        foreach (var id in new[] { "gate", "critical", "normal-long", "normal-long-tail", "normal-short", "low" })
        {
            await gated.Started(id).Within();
            gated.Release(id);
        }

        var result = await run.Completion.Within();
        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal(["gate", "critical", "normal-long", "normal-long-tail", "normal-short", "low"], gated.StartOrder);
    }

    [Fact]
    public async Task ATask_StartsWhenItsOwnDependenciesAreDone_WithoutWaitingForItsWave()
    {
        // slow and fast-1 are in wave 0; fast-2 (wave 1) must start while slow still runs. With a wave barrier
        // this would deadlock, because slow is only released once fast-2 has started.
        var gated = new GatedWorker();
        var plan = new PlanBuilder("no-barrier")
            .WithWorkers(3)
            .AddTask("slow", "gated")
            .AddTask("fast-1", "gated")
            .AddTask("fast-2", "gated", t => t.DependsOn("fast-1"))
            .Build();
        var run = TestEngines.With(null, ("gated", gated)).Compile(plan).Start();

        await gated.Started("fast-1").Within();
        gated.Release("fast-1");
        await gated.Started("fast-2").Within();
        Assert.Equal(2, run.GetStatus().Running);
        gated.Release("fast-2");
        gated.Release("slow");
        Assert.Equal(RunStatus.Succeeded, (await run.Completion.Within()).Status);
    }

    [Fact]
    public async Task WorkerTypeLimit_HoldsBackOnlyThatType()
    {
        var gated = new GatedWorker();
        var other = new GatedWorker();
        var plan = new PlanBuilder("limits")
            .WithWorkers(4)
            .WithLimit("gated", 1)
            .AddTask("g1", "gated")
            .AddTask("g2", "gated")
            .AddTask("o1", "other")
            .AddTask("o2", "other")
            .Build();
        var run = TestEngines.With(null, ("gated", gated), ("other", other)).Compile(plan).Start();

        await Task.WhenAll(gated.Started("g1"), other.Started("o1"), other.Started("o2")).Within();
        Assert.Equal(3, run.GetStatus().Running);
        Assert.Single(gated.StartOrder);
        gated.Release("g1");
        await gated.Started("g2").Within();
        gated.Release("g2");

        other.Release("o1");
        other.Release("o2");
        Assert.Equal(RunStatus.Succeeded, (await run.Completion.Within()).Status);
    }

    [Fact]
    public async Task ATask_ReceivesTheOutputsOfItsHardDependenciesOnly()
    {
        IReadOnlyDictionary<string, Sdk.TaskResult>? seen = null;
        var plan = new PlanBuilder("outputs")
            .AddTask("hard", (_, _) => ValueTask.FromResult(Sdk.TaskResult.FromText("from hard")))
            .AddTask("soft", (_, _) => ValueTask.FromResult(Sdk.TaskResult.FromText("from soft")))
            .AddTask("consumer", (request, _) =>
            {
                seen = request.DependencyOutputs.ToDictionary(p => p.Key, p => p.Value);
                return ValueTask.FromResult(Sdk.TaskResult.FromText(request.DependencyOutputs["hard"].Text + "!"));
            }, t => t.DependsOn("hard").After("soft"))
            .Build();

        var result = await new ParallelFlowEngine().RunAsync(plan).Within();

        Assert.Equal(["hard"], seen!.Keys);
        Assert.Equal("from hard!", result.Tasks.Single(t => t.TaskId == "consumer").Result!.Text);
    }

    [Fact]
    public async Task ASoftDependencyThatFails_DoesNotStopTheTask_AHardOneSkipsItsDescendants()
    {
        var plan = new PlanBuilder("soft-hard")
            .AddTask("fails", "simulate", t => t.With(new { fail = "fatal" }))
            .AddTask("soft-dependent", "simulate", t => t.After("fails"))
            .AddTask("hard-dependent", "simulate", t => t.DependsOn("fails"))
            .AddTask("grandchild", "simulate", t => t.DependsOn("hard-dependent"))
            .Build();

        var result = await new ParallelFlowEngine().RunAsync(plan).Within();

        var status = result.Tasks.ToDictionary(t => t.TaskId, t => t.Status);
        Assert.Equal(TaskRunStatus.Failed, status["fails"]);
        Assert.Equal(TaskRunStatus.Succeeded, status["soft-dependent"]);
        Assert.Equal(TaskRunStatus.Skipped, status["hard-dependent"]);
        Assert.Equal(TaskRunStatus.Skipped, status["grandchild"]);
        Assert.Equal("dependency 'hard-dependent' skipped", result.Tasks.Single(t => t.TaskId == "grandchild").Error);
        Assert.Equal(RunStatus.Failed, result.Status);
    }
}
