using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests.Execution;

public sealed class EventsAndStatusTests
{
    [Fact]
    public async Task TheEventStream_TellsEachTasksStory_InOrder()
    {
        var plan = new PlanBuilder("events")
            .WithWorkers(2)
            .AddTask("a", "simulate")
            .AddTask("b", "simulate", t => t.DependsOn("a"))
            .AddTask("c", "simulate", t => t.With(new { fail = "fatal" }))
            .AddTask("d", "simulate", t => t.DependsOn("c"))
            .Build();
        var run = new ParallelFlowEngine().Compile(plan).Start(new RunOptions { StreamEvents = true });

        var events = await run.ReadEventsAsync().ToListAsync().AsTask().Within();

        Assert.Equal(RunEventKind.RunStarted, events[0].Kind);
        Assert.Equal(RunEventKind.RunFinished, events[^1].Kind);
        foreach (var id in new[] { "a", "b", "c" })
        {
            var story = events.Where(e => e.TaskId == id && e.Kind is RunEventKind.TaskQueued or RunEventKind.TaskStarted or RunEventKind.TaskFinished).Select(e => e.Kind);
            Assert.Equal([RunEventKind.TaskQueued, RunEventKind.TaskStarted, RunEventKind.TaskFinished], story);
        }

        var skipped = Assert.Single(events, e => e.TaskId == "d");
        Assert.Equal((RunEventKind.TaskFinished, TaskRunStatus.Skipped), (skipped.Kind, skipped.Status));
        Assert.Equal(TaskRunStatus.Failed, events.Single(e => e.TaskId == "c" && e.Kind == RunEventKind.TaskFinished).Status);
        var busy = events.Where(e => e.Kind == RunEventKind.WorkerBusy).ToList();
        Assert.Equal(3, busy.Count);
        Assert.All(busy, e => Assert.InRange(e.Worker, 1, 2));
        Assert.Contains(events, e => e.Kind == RunEventKind.WorkerIdle);
    }

    [Fact]
    public async Task TheStatusSnapshot_CountsTasksAndKeepsEachWorkerTypesHistory()
    {
        var gated = new GatedWorker();
        var plan = new PlanBuilder("status")
            .WithWorkers(3)
            .AddTask("first", "gated")
            .AddTask("second", "gated")
            .AddTask("sim", "simulate", t => t.With(new { fail = "fatal" }))
            .AddTask("later", "gated", t => t.DependsOn("first").After("sim"))
            .Build();
        var run = TestEngines.With(null, ("gated", gated)).Compile(plan).Start();
        await Task.WhenAll(gated.Started("first"), gated.Started("second")).Within();
        gated.Release("first");
        await gated.Started("later").Within();

        var status = run.GetStatus();
        Assert.Equal((2, 1, 0, 2, 1, 1, 0), (status.BusyWorkers, status.IdleWorkers, status.Pending, status.Running, status.Succeeded, status.Failed, status.Skipped));
        var gatedHistory = Assert.Single(status.History["gated"]);
        Assert.Equal(("first", TaskRunStatus.Succeeded), (gatedHistory.TaskId, gatedHistory.Status));
        var simHistory = Assert.Single(status.History["simulate"]);
        Assert.Equal((TaskRunStatus.Failed, "simulated fatal failure of task 'sim'"), (simHistory.Status, simHistory.Error));

        gated.Release("second");
        gated.Release("later");
        await run.Completion.Within();
        Assert.Equal(3, run.GetStatus().History["gated"].Count);
    }

    [Fact]
    public void ReadingEvents_FromARunThatDoesNotStreamThem_SaysHowToTurnThemOn()
    {
        var run = new ParallelFlowEngine().Compile(new PlanBuilder("quiet").AddTask("a", "simulate").Build()).Start();
        var error = Assert.Throws<InvalidOperationException>(() => run.ReadEventsAsync());
        Assert.Contains("StreamEvents", error.Message, StringComparison.Ordinal);
    }
}
