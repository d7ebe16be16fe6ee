using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary><c>timeouts.worker_heartbeat</c> on a fake clock: every progress report restarts the watch; an attempt silent
/// for the whole interval is cancelled as stuck and retried; the rest of the run goes on.</summary>
public sealed class HeartbeatTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(1);

    [Fact]
    public async Task A_silent_attempt_is_stuck_and_retried_while_the_rest_of_the_run_goes_on()
    {
        var clock = new ObservedClock();
        var started = new SemaphoreSlim(0);
        var plan = new PlanBuilder("heartbeat")
            .WithTimeouts(new TimeoutSettings(WorkerHeartbeatSeconds: 10))
            .WithRetry(new RetrySettings { MaxAttempts = 2, InitialDelaySeconds = 0, Jitter = false })
            .AddTask("hangs", "reporting")
            .AddTask("quick", (_, _) => ValueTask.FromResult(TaskResult.FromText("done")))
            .Build();
        var run = Engine(clock, new Reporting(async (request, cancellationToken) =>
        {
            request.Progress.Report($"attempt {request.Attempt} started");
            started.Release();
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return TaskResult.Empty;
        })).Compile(plan).Start(new RunOptions { Workers = 2, StreamEvents = true });

        // Each attempt reported once, then went silent: 10 s later it is taken for stuck (not a tick before).
        await started.WaitAsync().Within();
        clock.Advance(TimeSpan.FromSeconds(10) - Tick);
        Assert.Equal(0, started.CurrentCount);
        clock.Advance(Tick);
        await started.WaitAsync().Within();
        clock.Advance(TimeSpan.FromSeconds(10));

        var result = await run.Completion.Within();
        var events = await run.ReadEventsAsync().ToListAsync().AsTask().Within();
        var hangs = result["hangs"];
        Assert.Equal((TaskRunStatus.TimedOut, FailureKind.Stuck, 2), (hangs.Status, hangs.FailureKind, hangs.Attempts));
        Assert.Equal("stuck: no progress for 10s (attempt 2): timeouts.worker_heartbeat", hangs.Error);
        Assert.Equal(TimeSpan.FromSeconds(20), hangs.Duration);
        var retry = Assert.Single(events, e => e.Kind == RunEventKind.TaskRetrying);
        Assert.Equal(("hangs", 2, "stuck: no progress for 10s"), (retry.TaskId, retry.Attempt, retry.Message));
        Assert.Equal(TaskRunStatus.Succeeded, result["quick"].Status);
    }

    [Fact]
    public async Task An_attempt_that_reports_progress_within_each_interval_runs_as_long_as_it_needs()
    {
        var clock = new ObservedClock();
        var reported = new SemaphoreSlim(0);
        var proceed = new SemaphoreSlim(0);
        var plan = new PlanBuilder("talks")
            .WithTimeouts(new TimeoutSettings(WorkerHeartbeatSeconds: 10))
            .AddTask("talks", "reporting")
            .Build();
        var run = Engine(clock, new Reporting(async (request, cancellationToken) =>
        {
            // A report every 8 s: never 10 s silent, though it runs 24 s in all.
            for (var i = 0; i < 3; i++)
            {
                reported.Release();
                await proceed.WaitAsync(cancellationToken);
                request.Progress.Report($"step {i}");
            }

            return TaskResult.FromText("done");
        })).Compile(plan).Start(new RunOptions { StreamEvents = true });

        for (var i = 0; i < 3; i++)
        {
            await reported.WaitAsync().Within();
            clock.Advance(TimeSpan.FromSeconds(8));
            proceed.Release();
        }

        var task = Assert.Single((await run.Completion.Within()).Tasks);
        var events = await run.ReadEventsAsync().ToListAsync().AsTask().Within();
        Assert.Equal((TaskRunStatus.Succeeded, 1, TimeSpan.FromSeconds(24)), (task.Status, task.Attempts, task.Duration));
        Assert.Equal(["step 0", "step 1", "step 2"], events.Where(e => e.Kind == RunEventKind.TaskOutput).Select(e => e.Message));
    }

    [Fact]
    public async Task The_runs_own_cancel_is_a_cancel_not_a_stuck_task()
    {
        var clock = new ObservedClock();
        var started = new SemaphoreSlim(0);
        var plan = new PlanBuilder("cancelled")
            .WithTimeouts(new TimeoutSettings(WorkerHeartbeatSeconds: 10))
            .AddTask("waits", "reporting")
            .Build();
        var run = Engine(clock, new Reporting(async (_, cancellationToken) =>
        {
            started.Release();
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return TaskResult.Empty;
        })).Compile(plan).Start();

        await started.WaitAsync().Within();
        clock.Advance(TimeSpan.FromSeconds(10) - Tick);
        run.Cancel();

        var task = Assert.Single((await run.Completion.Within()).Tasks);
        Assert.Equal((TaskRunStatus.Cancelled, FailureKind.Cancelled), (task.Status, task.FailureKind));
    }

    [Fact]
    public async Task A_worker_that_reports_no_progress_is_held_to_its_timeout_only()
    {
        var clock = new ObservedClock();
        var started = new SemaphoreSlim(0);
        var plan = new PlanBuilder("quiet")
            .WithTimeouts(new TimeoutSettings(WorkerHeartbeatSeconds: 10))
            .AddTask("model-call", async (_, cancellationToken) =>
            {
                started.Release();
                await Task.Delay(TimeSpan.FromSeconds(30), clock, cancellationToken);
                return TaskResult.FromText("answer");
            })
            .Build();
        var run = TestEngines.With(clock).Compile(plan).Start();

        await started.WaitAsync().Within();
        await clock.TimersAsync(TimeSpan.FromSeconds(30));
        clock.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(TaskRunStatus.Succeeded, Assert.Single((await run.Completion.Within()).Tasks).Status);
    }

    [Fact]
    public void A_heartbeat_is_read_from_the_plan_and_out_of_range_is_refused()
    {
        var plan = PlanLoader.Parse("""{ "timeouts": { "worker_heartbeat": 30 }, "tasks": [ { "id": "a", "worker": "simulate" } ] }""", PlanFormat.Json);
        var error = Assert.Throws<PlanValidationException>(() =>
            PlanLoader.Parse("""{ "timeouts": { "worker_heartbeat": 0 }, "tasks": [ { "id": "a", "worker": "simulate" } ] }""", PlanFormat.Json));

        Assert.Equal(30, plan.Timeouts.WorkerHeartbeatSeconds);
        Assert.Empty(plan.Warnings);
        Assert.Contains("timeouts.worker_heartbeat", Assert.Single(error.Errors).Message, StringComparison.Ordinal);
    }

    private static ParallelFlowEngine Engine(ObservedClock clock, ParallelFlowWorker worker)
    {
        var catalog = BuiltInWorkers.CreateCatalog(clock);
        catalog.AddWorker("reporting", worker);
        return new ParallelFlowEngine(new EngineOptions { Catalog = catalog, TimeProvider = clock });
    }

    /// <summary>A worker that says it reports progress, so the heartbeat watches it.</summary>
    private sealed class Reporting(Func<TaskRequest, CancellationToken, Task<TaskResult>> body) : ParallelFlowWorker
    {
        public override bool ReportsProgress => true;

        public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            await body(request, cancellationToken).ConfigureAwait(false);
    }
}
