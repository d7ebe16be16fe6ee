using ParallelFlow.Cli.Output;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Cli.Tests;

/// <summary>What the live view shows, from a run's events: counts by status that match the summary's, the latest output
/// line of a running task, a retry shown until the task ends, and the time left from estimates and observed durations.</summary>
public sealed class LiveProgressTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task The_counts_are_the_summarys_statuses_and_output_and_retries_clear_when_a_task_ends()
    {
        var plan = new PlanBuilder("live")
            .AddTask("a", "simulate", t => t.With(new { seconds = 0, fail_attempts = 1 }))
            .AddTask("b", "simulate", t => t.With(new { seconds = 5 }).Timeout(TimeSpan.FromSeconds(0.05)))
            .AddTask("c", "simulate", t => t.DependsOn("b"))
            .AddTask("d", "simulate", t => t.With(new { fail = "fatal" }))
            .AddTask("e", "template", t => t.With(new { text = "done" }))
            .WithRetry(new RetrySettings { MaxAttempts = 2, InitialDelaySeconds = 0.001 })
            .Build();
        var progress = new LiveProgress(plan, workers: 2);
        var run = new ParallelFlowEngine().Compile(plan).Start(new RunOptions { StreamEvents = true, Workers = 2 });
        var sawRetry = false;
        await foreach (var e in run.ReadEventsAsync())
        {
            progress.Apply(e);
            sawRetry |= progress.Retrying.ContainsKey("a");
        }

        var result = await run.Completion.Within();
        Assert.True(sawRetry, "a's retry was never shown");
        foreach (var status in Enum.GetValues<TaskRunStatus>().Where(s => s.IsFinal()))
        {
            Assert.Equal(result.Count(status), progress.Counts.GetValueOrDefault(status));
        }

        Assert.Equal(1, progress.Counts[TaskRunStatus.TimedOut]);
        Assert.Equal(1, progress.Counts[TaskRunStatus.Failed]);
        Assert.Empty(progress.Retrying);
        Assert.Empty(progress.Busy);
        Assert.Empty(progress.Output);
        Assert.Equal((5, 0), (progress.Finished, progress.Pending));
    }

    [Fact]
    public void A_running_tasks_latest_output_line_is_kept_and_the_time_left_learns_from_durations()
    {
        var plan = new PlanBuilder("eta")
            .AddTask("a", "simulate", t => t.Estimate(TimeSpan.FromSeconds(1)))
            .AddTask("b", "simulate", t => t.Estimate(TimeSpan.FromSeconds(1)))
            .AddTask("c", "simulate", t => t.Estimate(TimeSpan.FromSeconds(1)))
            .AddTask("d", "simulate", t => t.Estimate(TimeSpan.FromSeconds(1)))
            .Build();
        var progress = new LiveProgress(plan, workers: 1);
        progress.Apply(new RunEvent(RunEventKind.RunStarted, Start));
        Assert.Null(progress.Remaining(Start));

        progress.Apply(new RunEvent(RunEventKind.TaskStarted, Start, "a", "simulate", Worker: 1, Attempt: 1));
        progress.Apply(new RunEvent(RunEventKind.TaskOutput, Start.AddSeconds(1), "a", Message: "step 1 of 2"));
        progress.Apply(new RunEvent(RunEventKind.TaskOutput, Start.AddSeconds(2), "a", Message: "step 2 of 2"));
        Assert.Equal("step 2 of 2", progress.Output["a"]);

        // a took 3 s against an estimate of 1 s: the three left, estimated at 1 s each, are expected to take 9 s.
        progress.Apply(new RunEvent(RunEventKind.TaskFinished, Start.AddSeconds(3), "a", "simulate", 1, 1, TaskRunStatus.Succeeded));
        Assert.Equal(TimeSpan.FromSeconds(9), progress.Remaining(Start.AddSeconds(3)));
        Assert.False(progress.Output.ContainsKey("a"));

        // b has run 2 s of its expected 3: 7 s left.
        progress.Apply(new RunEvent(RunEventKind.TaskStarted, Start.AddSeconds(3), "b", "simulate", Worker: 1, Attempt: 1));
        Assert.Equal(TimeSpan.FromSeconds(7), progress.Remaining(Start.AddSeconds(5)));
        Assert.Contains("1/4 (25%) · 5.0s elapsed · about 7.0s left", progress.Bar(Start.AddSeconds(5), 20), StringComparison.Ordinal);

        // With c and d done, b runs on past its expected 3 s: nothing is left to count down, and the bar says why.
        foreach (var (task, at) in new[] { ("c", 20), ("d", 21) })
        {
            progress.Apply(new RunEvent(RunEventKind.TaskFinished, Start.AddSeconds(at), task, "simulate", 1, 1, TaskRunStatus.Succeeded));
        }

        Assert.Equal(TimeSpan.Zero, progress.Remaining(Start.AddSeconds(30)));
        Assert.Contains("3/4 (75%) · 30.0s elapsed · running past the estimates", progress.Bar(Start.AddSeconds(30), 20), StringComparison.Ordinal);
    }
}
