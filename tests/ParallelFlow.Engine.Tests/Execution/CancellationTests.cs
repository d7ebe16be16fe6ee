using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests.Execution;

public sealed class CancellationTests
{
    [Fact]
    public async Task CancellingTheToken_CancelsRunningAndUnstartedTasks_AndTheRunEndsCancelled()
    {
        var gated = new GatedWorker();
        var plan = new PlanBuilder("cancel")
            .WithWorkers(2)
            .AddTask("done", "gated")
            .AddTask("running", "gated", t => t.DependsOn("done"))
            .AddTask("waiting", "gated", t => t.DependsOn("running"))
            .AddTask("queued-1", "gated", t => t.DependsOn("done"))
            .AddTask("queued-2", "gated", t => t.DependsOn("done"))
            .Build();
        using var cancellation = new CancellationTokenSource();
        var run = TestEngines.With(null, ("gated", gated)).Compile(plan).Start(new RunOptions { Workers = 1 }, cancellation.Token);

        await gated.Started("done").Within();
        gated.Release("done");
        await gated.Started("running").Within();
        await cancellation.CancelAsync();

        var result = await run.Completion.Within();
        var status = result.Tasks.ToDictionary(t => t.TaskId, t => t.Status);
        Assert.Equal(RunStatus.Cancelled, result.Status);
        Assert.Equal(TaskRunStatus.Succeeded, status["done"]);
        Assert.All(["running", "waiting", "queued-1", "queued-2"], id => Assert.Equal(TaskRunStatus.Cancelled, status[id]));
        Assert.Equal("cancelled while running", result.Tasks.Single(t => t.TaskId == "running").Error);
        Assert.Equal(["done", "running"], gated.StartOrder);
    }

    [Fact]
    public async Task CancellingAsTheLastTaskFinishes_NeverHangsTheRun()
    {
        // The caller's cancellation callback takes the run's lock; the run, ending under that lock, must not wait for
        // the callback (disposing its registration there would). Race the two many times.
        var engine = TestEngines.With();
        var compiled = engine.Compile(new PlanBuilder("race").AddTask("only", "simulate").Build());
        for (var i = 0; i < 300; i++)
        {
            using var cancellation = new CancellationTokenSource();
            using var ready = new Barrier(2);
            var canceller = Task.Run(() =>
            {
                ready.SignalAndWait();
                cancellation.Cancel();
            });
            var run = Task.Run(() =>
            {
                ready.SignalAndWait();
                return compiled.RunAsync(cancellationToken: cancellation.Token);
            });

            var result = await run.Within();
            await canceller.Within();
            Assert.Contains(result.Status, new[] { RunStatus.Succeeded, RunStatus.Cancelled });
        }
    }

    [Fact]
    public async Task Cancel_DoesNotWaitForAWorkerThatIgnoresItsToken()
    {
        var gated = new GatedWorker { IgnoreCancellation = true };
        var plan = new PlanBuilder("stubborn").AddTask("stubborn", "gated").Build();
        var run = TestEngines.With(null, ("gated", gated)).Compile(plan).Start();

        await gated.Started("stubborn").Within();
        run.Cancel();

        var result = await run.Completion.Within();
        Assert.Equal(RunStatus.Cancelled, result.Status);
        Assert.Equal(TaskRunStatus.Cancelled, result.Tasks[0].Status);
    }

    [Fact]
    public async Task FailFast_CancelsEverythingElseAtTheFirstFailure_AndTheRunFails()
    {
        var gated = new GatedWorker();
        var plan = new PlanBuilder("fail-fast")
            .OnFailure(FailurePolicy.FailFast)
            .WithWorkers(2)
            .AddTask("fails", "gated")
            .AddTask("long", "gated")
            .AddTask("after-long", "gated", t => t.DependsOn("long"))
            .Build();
        var run = TestEngines.With(null, ("gated", gated)).Compile(plan).Start();

        await Task.WhenAll(gated.Started("fails"), gated.Started("long")).Within();
        gated.Fail("fails", new Sdk.FatalTaskException("broken"));

        var result = await run.Completion.Within();
        var status = result.Tasks.ToDictionary(t => t.TaskId, t => t.Status);
        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Equal(TaskRunStatus.Failed, status["fails"]);
        Assert.Equal(TaskRunStatus.Cancelled, status["long"]);
        Assert.Equal(TaskRunStatus.Cancelled, status["after-long"]);
        Assert.Equal("cancelled: the run failed fast", result.Tasks.Single(t => t.TaskId == "after-long").Error);
    }

    [Fact]
    public async Task Continue_LetsIndependentBranchesFinish()
    {
        var gated = new GatedWorker();
        var plan = new PlanBuilder("continue")
            .WithWorkers(2)
            .AddTask("fails", "gated")
            .AddTask("independent", "gated")
            .AddTask("after-independent", "gated", t => t.DependsOn("independent"))
            .Build();
        var run = TestEngines.With(null, ("gated", gated)).Compile(plan).Start();

        await Task.WhenAll(gated.Started("fails"), gated.Started("independent")).Within();
        gated.Fail("fails", new Sdk.FatalTaskException("broken"));
        gated.Release("independent");
        await gated.Started("after-independent").Within();
        gated.Release("after-independent");

        var result = await run.Completion.Within();
        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Equal([TaskRunStatus.Failed, TaskRunStatus.Succeeded, TaskRunStatus.Succeeded], result.Tasks.Select(t => t.Status));
    }

    [Fact]
    public async Task ARunCancelledBeforeItStarts_CancelsEveryTask()
    {
        var plan = new PlanBuilder("pre-cancelled").AddTask("a", "simulate").AddTask("b", "simulate", t => t.DependsOn("a")).Build();

        var result = await new ParallelFlowEngine().Compile(plan).RunAsync(cancellationToken: new CancellationToken(true)).Within();

        Assert.Equal(RunStatus.Cancelled, result.Status);
        Assert.All(result.Tasks, t => Assert.Equal(TaskRunStatus.Cancelled, t.Status));
    }
}
