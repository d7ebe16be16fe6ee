using Microsoft.Extensions.Logging;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>Workers that misbehave during a run: each is named in the run's result, and none takes the run down.</summary>
public sealed class FaultTests
{
    [Fact]
    public async Task AWorkerThatNeverObservesItsToken_IsAbandonedAfterTheGracePeriod_AndNamed()
    {
        var clock = new ObservedClock();
        var gated = new GatedWorker { IgnoreCancellation = true };
        var catalog = BuiltInWorkers.CreateCatalog(clock);
        catalog.AddWorker("gated", gated);
        var engine = new ParallelFlowEngine(new EngineOptions { Catalog = catalog, TimeProvider = clock, CancellationGracePeriod = TimeSpan.FromSeconds(4) });
        var plan = new PlanBuilder("deaf").WithWorkers(2)
            .AddTask("deaf", "gated")
            .AddTask("fine", "template", t => t.With(new { text = "done" }))
            .AddTask("later", "template", t => t.DependsOn("deaf").With(new { text = "never" }))
            .Build();
        var run = engine.Compile(plan).Start(new RunOptions { StreamEvents = true });
        await gated.Started("deaf").Within();
        await run.ReadEventsAsync().FirstAsync(e => e.Kind == RunEventKind.TaskFinished && e.TaskId == "fine").AsTask().Within();

        run.Cancel();

        // The run waits out the grace period for the worker, then abandons it; it does not wait for ever.
        Assert.Equal(TimeSpan.FromSeconds(4), await clock.NextTimerAsync());
        Assert.False(run.Completion.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(4));
        var result = await run.Completion.Within();

        Assert.Equal(RunStatus.Cancelled, result.Status);
        Assert.Equal(TaskRunStatus.Cancelled, result["deaf"].Status);
        Assert.Equal("cancelled while running; worker 'gated' did not return within the 4s grace period after it was cancelled and was abandoned", result["deaf"].Error);
        Assert.Equal(TaskRunStatus.Succeeded, result["fine"].Status);
        Assert.Equal(TaskRunStatus.Cancelled, result["later"].Status);
        gated.Release("deaf");
    }

    [Fact]
    public async Task AHostsLoggerThatCancelsTheRun_FromInsideTheScheduler_StopsItWithoutReenteringTheStep()
    {
        // The engine logs a task that did not succeed inside its scheduling step, under the run's gate. A host that
        // reacts by cancelling the run, on that same thread, must stop it — not take a step inside the step.
        var gated = new GatedWorker();
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("gated", gated);
        FlowRun? run = null;
        using var loggers = new CancelOnFailure(() => run?.Cancel());
        var engine = new ParallelFlowEngine(new EngineOptions { Catalog = catalog, LoggerFactory = loggers });
        var plan = new PlanBuilder("reentrant").WithWorkers(2)
            .AddTask("wait", "gated")
            .AddTask("fail", "simulate", t => t.DependsOn("go").With(new { fail = "fatal" }))
            .AddTask("go", "gated")
            .AddTask("after", "template", t => t.DependsOn("wait").With(new { text = "never" }))
            .Build();
        run = engine.Compile(plan).Start();
        await gated.Started("wait").Within();
        // Only now, with the run in hand, may the failure come.
        await gated.Started("go").Within();
        gated.Release("go");

        var result = await run.Completion.Within();

        Assert.Equal(RunStatus.Cancelled, result.Status);
        Assert.Equal(TaskRunStatus.Failed, result["fail"].Status);
        Assert.Equal(TaskRunStatus.Cancelled, result["wait"].Status);
        Assert.Equal(TaskRunStatus.Cancelled, result["after"].Status);
    }

    private sealed class CancelOnFailure(Action cancel) : ILoggerFactory, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (formatter(state, exception).Contains("fail", StringComparison.Ordinal) && logLevel >= LogLevel.Warning)
            {
                cancel();
            }
        }

        public void Dispose()
        {
        }
    }

    [Fact]
    public async Task AWorkerThatBlocksItsThread_HoldsOnlyItsOwnSlot_AndEndsTimedOut()
    {
        var clock = new ObservedClock();
        using var blocked = new ManualResetEventSlim();
        using var started = new SemaphoreSlim(0);
        var others = 0;
        var builder = new PlanBuilder("blocking").WithWorkers(2)
            .AddTask("blocks", (_, _) =>
            {
                // Synchronous: no await, the thread itself is held, as a worker calling .Result or Thread.Sleep does.
                started.Release();
                blocked.Wait(TimeSpan.FromSeconds(30), CancellationToken.None);
                return ValueTask.FromResult(TaskResult.FromText("late"));
            }, t => t.Timeout(TimeSpan.FromSeconds(1)));
        for (var i = 0; i < 50; i++)
        {
            builder.AddTask($"t{i}", (_, _) =>
            {
                Interlocked.Increment(ref others);
                return ValueTask.FromResult(TaskResult.FromText("ok"));
            });
        }

        var run = TestEngines.With(clock.Ignoring(TimeSpan.FromSeconds(5))).Compile(builder.Build()).Start();
        await started.WaitAsync().Within();
        Assert.Equal(TimeSpan.FromSeconds(1), await clock.NextTimerAsync());

        // The other worker slot runs every other task while this one is held.
        for (var i = 0; i < 400 && Volatile.Read(ref others) < 50; i++)
        {
            await Task.Delay(5);
        }

        Assert.Equal(50, Volatile.Read(ref others));
        clock.Advance(TimeSpan.FromSeconds(1));
        blocked.Set();
        var result = await run.Completion.Within();

        Assert.Equal(TaskRunStatus.TimedOut, result["blocks"].Status);
        Assert.Equal("timed out after 1s (attempt 1)", result["blocks"].Error);
        Assert.All(result.Tasks.Where(t => t.TaskId != "blocks"), t => Assert.Equal(TaskRunStatus.Succeeded, t.Status));
    }

    [Fact]
    public async Task AWorkerWhoseResourceThrowsFromDispose_FailsItsTaskAlone_NamingTheError()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("leaky", new DisposeThrowingWorker());
        var plan = new PlanBuilder("dispose")
            .AddTask("leaky", "leaky")
            .AddTask("fine", "template", t => t.With(new { text = "done" }))
            .AddTask("after", "template", t => t.After("leaky").With(new { text = "still runs" }))
            .Build();

        var result = await new ParallelFlowEngine(new EngineOptions { Catalog = catalog }).RunAsync(plan).Within();

        Assert.Equal(TaskRunStatus.Failed, result["leaky"].Status);
        Assert.Equal("InvalidOperationException: the connection pool is gone", result["leaky"].Error);
        Assert.Equal(TaskRunStatus.Succeeded, result["fine"].Status);
        Assert.Equal(TaskRunStatus.Succeeded, result["after"].Status);
    }

    private sealed class DisposeThrowingWorker : ParallelFlowWorker
    {
        public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            await using var resource = new ThrowsOnDispose();
            await Task.Yield();
            return TaskResult.FromText("work done, then the resource failed to close");
        }

        private sealed class ThrowsOnDispose : IAsyncDisposable
        {
            public ValueTask DisposeAsync() => throw new InvalidOperationException("the connection pool is gone");
        }
    }
}
