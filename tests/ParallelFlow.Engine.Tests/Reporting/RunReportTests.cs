using System.Text.Json;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Reporting;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests.Reporting;

public sealed class RunReportTests
{
    [Fact]
    public async Task TheReport_HasTheExecutorOutputFormat_WithConsistentNumbers()
    {
        var clock = new ObservedClock();
        var plan = new PlanBuilder("report")
            .WithWorkers(2)
            .AddTask("a", "simulate", t => t.With(new { seconds = 2, output = "alpha" }))
            .AddTask("b", "simulate", t => t.With(new { seconds = 2 }))
            .AddTask("c", "simulate", t => t.DependsOn("a", "b").With(new { seconds = 1, fail = "fatal" }))
            .AddTask("d", "simulate", t => t.DependsOn("c"))
            .Build();
        var run = TestEngines.With(clock).Compile(plan).Start();
        await clock.NextTimerAsync();
        await clock.NextTimerAsync();
        clock.Advance(TimeSpan.FromSeconds(2));
        await clock.NextTimerAsync();
        clock.Advance(TimeSpan.FromSeconds(1));
        var result = await run.Completion.Within();

        using var stream = new MemoryStream();
        RunReport.Write(result, stream);
        var report = JsonDocument.Parse(stream.ToArray()).RootElement;

        var summary = report.GetProperty("execution_summary");
        Assert.Equal(4, summary.GetProperty("total_subtasks").GetInt32());
        Assert.Equal(2, summary.GetProperty("parallel_executions").GetInt32());
        Assert.Equal(3, summary.GetProperty("execution_time").GetDouble());
        Assert.Equal(5.0 / 3, summary.GetProperty("speedup_factor").GetDouble(), 5);
        Assert.Equal(2, summary.GetProperty("workers_used").GetInt32());
        Assert.Equal(1, summary.GetProperty("sync_points").GetInt32());
        Assert.Equal(1, summary.GetProperty("status_counts").GetProperty("skipped").GetInt32());

        var results = report.GetProperty("results").EnumerateArray().ToDictionary(r => r.GetProperty("id").GetString()!);
        Assert.Equal("alpha", results["a"].GetProperty("output").GetString());
        Assert.Equal(2, results["a"].GetProperty("duration").GetDouble());
        Assert.Equal("2026-01-01T00:00:00+00:00", results["a"].GetProperty("start").GetString());
        Assert.Equal(("failed", "simulated fatal failure of task 'c'", "fatal"),
            (results["c"].GetProperty("status").GetString(), results["c"].GetProperty("error").GetString(), results["c"].GetProperty("failure_kind").GetString()));
        Assert.Equal(("skipped", 0), (results["d"].GetProperty("status").GetString(), results["d"].GetProperty("attempts").GetInt32()));

        var metrics = report.GetProperty("performance_metrics");
        Assert.Equal(5.0 / 6, metrics.GetProperty("worker_utilization").GetDouble(), 5);
        Assert.Equal(5.0 / 3, metrics.GetProperty("avg_task_time").GetDouble(), 5);
        Assert.Equal(3, metrics.GetProperty("critical_path_time").GetDouble());
        Assert.Equal(3, report.GetProperty("lower_bound").GetDouble());
        Assert.Equal(1, report.GetProperty("efficiency").GetDouble());
        Assert.Equal("failed", report.GetProperty("status").GetString());
    }
}
