using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

public sealed class TimeoutAndRetryTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(1);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnAttemptPastItsTimeout_EndsTimedOut_EvenIfTheWorkerIgnoresCancellation(bool ignoresCancellation)
    {
        var clock = new ObservedClock();
        var gated = new GatedWorker { IgnoreCancellation = ignoresCancellation };
        var plan = new PlanBuilder("timeout").AddTask("hang", "gated", t => t.Timeout(TimeSpan.FromSeconds(5))).Build();
        var catalog = BuiltInWorkers.CreateCatalog(clock);
        catalog.AddWorker("gated", gated);
        var run = new ParallelFlowEngine(new EngineOptions { Catalog = catalog, TimeProvider = clock, CancellationGracePeriod = TimeSpan.FromSeconds(3) }).Compile(plan).Start();

        await gated.Started("hang").Within();
        Assert.Equal(TimeSpan.FromSeconds(5), await clock.NextTimerAsync());
        clock.Advance(TimeSpan.FromSeconds(5) - Tick);
        Assert.False(run.Completion.IsCompleted);
        clock.Advance(Tick);

        if (ignoresCancellation)
        {
            // The worker is given the grace period to return, and the run waits for it before it completes.
            Assert.Equal(TimeSpan.FromSeconds(3), await clock.NextTimerAsync());
            clock.Advance(TimeSpan.FromSeconds(3) - Tick);
            Assert.False(run.Completion.IsCompleted);
            clock.Advance(Tick);
        }

        var result = await run.Completion.Within();
        var task = Assert.Single(result.Tasks);
        Assert.Equal(TaskRunStatus.TimedOut, task.Status);
        Assert.Equal(FailureKind.Timeout, task.FailureKind);
        Assert.Equal(ignoresCancellation
            ? "timed out after 5s (attempt 1); worker 'gated' did not return within the 3s grace period after it was cancelled and was abandoned"
            : "timed out after 5s (attempt 1)", task.Error);
        Assert.Equal(TimeSpan.FromSeconds(ignoresCancellation ? 8 : 5), task.Duration);
    }

    [Fact]
    public async Task TransientFailures_AreRetried_WithExponentialBackoffOnTheInjectedClock()
    {
        var clock = new ObservedClock();
        var attempts = new List<(int Attempt, DateTimeOffset At)>();
        var attempted = new SemaphoreSlim(0);
        var plan = new PlanBuilder("retry")
            .WithRetry(new RetrySettings { MaxAttempts = 3, InitialDelaySeconds = 1, BackoffMultiplier = 3, Jitter = false })
            .AddTask("flaky", (request, _) =>
            {
                lock (attempts)
                {
                    attempts.Add((request.Attempt, clock.GetUtcNow()));
                }

                attempted.Release();
                return request.Attempt < 3
                    ? throw new TransientTaskException($"attempt {request.Attempt} failed")
                    : ValueTask.FromResult(TaskResult.FromText("third time lucky"));
            })
            .Build();
        var run = TestEngines.With(clock).Compile(plan).Start(new RunOptions { StreamEvents = true });

        await attempted.WaitAsync().Within();
        Assert.Equal(TimeSpan.FromSeconds(1), await clock.NextTimerAsync());
        clock.Advance(TimeSpan.FromSeconds(1) - Tick);
        Assert.Single(attempts);
        clock.Advance(Tick);
        await attempted.WaitAsync().Within();
        Assert.Equal(TimeSpan.FromSeconds(3), await clock.NextTimerAsync());
        clock.Advance(TimeSpan.FromSeconds(3));
        await attempted.WaitAsync().Within();

        var result = await run.Completion.Within();
        var events = await run.ReadEventsAsync().ToListAsync().AsTask().Within();
        var task = Assert.Single(result.Tasks);
        Assert.Equal(TaskRunStatus.Succeeded, task.Status);
        Assert.Equal(3, task.Attempts);
        Assert.Equal([1, 2, 3], attempts.Select(a => a.Attempt));
        Assert.Equal(TimeSpan.FromSeconds(1), attempts[1].At - attempts[0].At);
        Assert.Equal(TimeSpan.FromSeconds(3), attempts[2].At - attempts[1].At);
        var retries = events.Where(e => e.Kind == RunEventKind.TaskRetrying).ToList();
        Assert.Equal([2, 3], retries.Select(e => e.Attempt));
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)], retries.Select(e => e.Delay!.Value));
        Assert.Equal("attempt 1 failed", retries[0].Message);
    }

    [Fact]
    public async Task TimedOutAttempts_AreRetried_AndTheLastOneDecidesTheStatus()
    {
        // The simulate worker returns as soon as it is cancelled, so the grace period never runs out.
        var clock = new ObservedClock().Ignoring(TimeSpan.FromSeconds(5));
        var plan = new PlanBuilder("timeout-retry")
            .WithRetry(new RetrySettings { MaxAttempts = 2, InitialDelaySeconds = 0.5, Jitter = false })
            .AddTask("sleepy", "simulate", t => t.With(new { seconds = 60 }).Timeout(TimeSpan.FromSeconds(2)))
            .Build();
        var run = TestEngines.With(clock).Compile(plan).Start();

        // Attempt 1 arms its timeout and its 60 s sleep; the timeout fires first, then the backoff, then attempt 2.
        var armed = new[] { await clock.NextTimerAsync(), await clock.NextTimerAsync() };
        Assert.Equal([TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60)], armed.Order());
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(0.5), await clock.NextTimerAsync());
        clock.Advance(TimeSpan.FromSeconds(0.5));
        _ = await clock.NextTimerAsync();
        _ = await clock.NextTimerAsync();
        clock.Advance(TimeSpan.FromSeconds(2));

        var task = Assert.Single((await run.Completion.Within()).Tasks);
        Assert.Equal(TaskRunStatus.TimedOut, task.Status);
        Assert.Equal(2, task.Attempts);
        Assert.Equal(TimeSpan.FromSeconds(4.5), task.Duration);
    }

    [Fact]
    public async Task FatalFailures_AreNotRetried()
    {
        var plan = new PlanBuilder("fatal")
            .WithRetry(new RetrySettings { MaxAttempts = 5, InitialDelaySeconds = 0 })
            .AddTask("bad-input", (_, _) => throw new FatalTaskException("the input file is missing"))
            .AddTask("bug", (_, _) => throw new ArgumentException("negative size"))
            .Build();

        var result = await new ParallelFlowEngine().RunAsync(plan).Within();

        Assert.All(result.Tasks, t => Assert.Equal((TaskRunStatus.Failed, FailureKind.Fatal, 1), (t.Status, t.FailureKind, t.Attempts)));
        Assert.Equal("the input file is missing", result.Tasks[0].Error);
        Assert.Equal("ArgumentException: negative size", result.Tasks[1].Error);
    }

    [Fact]
    public async Task ATaskThatKeepsFailing_StopsAfterMaxAttempts()
    {
        var plan = new PlanBuilder("exhausted")
            .WithRetry(new RetrySettings { MaxAttempts = 3, InitialDelaySeconds = 0 })
            .AddTask("always", "simulate", t => t.With(new { fail_attempts = 10 }))
            .Build();

        var task = Assert.Single((await new ParallelFlowEngine().RunAsync(plan).Within()).Tasks);

        Assert.Equal((TaskRunStatus.Failed, FailureKind.Transient, 3), (task.Status, task.FailureKind, task.Attempts));
        Assert.Equal("simulated transient failure of task 'always' (attempt 3)", task.Error);
    }

    [Fact]
    public void BackoffDelays_GrowByTheMultiplier_AreCapped_AndJitterStaysWithinAQuarter()
    {
        var settings = new RetrySettings { InitialDelaySeconds = 2, BackoffMultiplier = 3, MaxDelaySeconds = 30, Jitter = false };
        Assert.Equal([2, 6, 18, 30], Enumerable.Range(0, 4).Select(n => TaskPolicy.Delay(settings, n).TotalSeconds));

        var jittered = Enumerable.Range(0, 2000).Select(_ => TaskPolicy.Delay(settings with { Jitter = true }, 1).TotalSeconds).ToList();
        Assert.All(jittered, d => Assert.InRange(d, 6 * 0.75, 6 * 1.25));
        Assert.True(jittered.Max() - jittered.Min() > 2, "jitter should spread the delays");
    }
}
