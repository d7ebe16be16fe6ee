using System.Text.Json;

namespace ParallelFlow.Cli.Tests;

public sealed class RunCommandTests : IDisposable
{
    // The plans and reports the tests write, deleted with the folder.
    private readonly string _folder = Directory.CreateTempSubdirectory("parallelflow-run-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Verbose_prints_the_workers_log_lines_on_stderr_only()
    {
        var (exitCode, output, error) = await CliProcess.RunAsync("run", "examples/processes.json", "--no-journal", "-q", "--verbose");

        Assert.Equal(0, exitCode);
        Assert.Contains("info  Tasks: count-examples stdout:", error, StringComparison.Ordinal);
        Assert.Contains("info  Engine: Run ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("stdout:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_TheReleaseCheckExample_Succeeds_AndWritesTheReport()
    {
        var report = Path.Combine(_folder, "report.json");

        var (exitCode, output, error) = await CliProcess.RunAsync("run", "examples/release-check.json", "--report", report);

        Assert.True(exitCode == 0, error + output);
        Assert.Contains("finished  research-api succeeded", output, StringComparison.Ordinal);
        Assert.Contains("retrying  build-windows attempt 2", output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        var root = json.RootElement;
        Assert.Equal(("release-check", "succeeded"), (root.GetProperty("task_id").GetString(), root.GetProperty("status").GetString()));
        Assert.Equal(8, root.GetProperty("execution_summary").GetProperty("total_subtasks").GetInt32());
        Assert.Equal(4, root.GetProperty("execution_summary").GetProperty("workers_used").GetInt32());
        var results = root.GetProperty("results").EnumerateArray().ToDictionary(r => r.GetProperty("id").GetString()!);
        Assert.All(results.Values, r => Assert.Equal("succeeded", r.GetProperty("status").GetString()));
        Assert.Equal(2, results["build-windows"].GetProperty("attempts").GetInt32());
        Assert.StartsWith("Release notes\n- API: Schema from: 3 endpoints changed", results["release-notes"].GetProperty("output").GetString(), StringComparison.Ordinal);
        Assert.InRange(root.GetProperty("execution_summary").GetProperty("speedup_factor").GetDouble(), 1.2, 4);
    }

    [Fact]
    public async Task Run_WithAPluginsStrategy_UsesIt_AndATypoIsExitTwo()
    {
        var report = Path.Combine(_folder, "report.json");

        var (exitCode, output, error) = await CliProcess.RunAsync("run", "examples/release-check.json", "--strategy", "fan_out_first", "--report", report, "--quiet");
        var (typoCode, typoOutput, typoError) = await CliProcess.RunAsync("run", "examples/release-check.json", "--strategy", "fan_out_frist");

        Assert.True(exitCode == 0, error + output);
        Assert.Contains("on 4 workers (fan_out_first", output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        Assert.Equal("fan_out_first", json.RootElement.GetProperty("execution_summary").GetProperty("strategy").GetString());
        Assert.Equal(2, typoCode);
        Assert.Equal(
            "error: --strategy: unknown strategy 'fan_out_frist'; known: critical_path, priority, fifo, shortest_first, fan_out_first. Did you mean 'fan_out_first'?",
            typoError.Trim());
        Assert.DoesNotContain("started", typoOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_AWorkflowTrace_ReplaysItUnderTheChosenStrategy()
    {
        var trace = Path.Combine(CliProcess.RepositoryRoot, "tests", "ParallelFlow.Engine.Tests", "Plans", "Fixtures", "diamond.wfformat.json");
        var report = Path.Combine(_folder, "report.json");

        var (exitCode, output, error) = await CliProcess.RunAsync("run", trace, "--strategy", "fifo", "--time-scale", "0.001", "--workers", "2", "--report", report, "--quiet", "--no-journal");

        Assert.True(exitCode == 0, error + output);
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        var summary = json.RootElement.GetProperty("execution_summary");
        Assert.Equal(("fifo", 4), (summary.GetProperty("strategy").GetString(), summary.GetProperty("total_subtasks").GetInt32()));
        // 10 + 40 + 20 recorded seconds on the longest path, at 1 ms per second: at least 70 ms.
        Assert.True(summary.GetProperty("execution_time").GetDouble() >= 0.07, output);
    }

    [Fact]
    public async Task Run_APlanWithFailures_ExitsOne_AndFinishesTheIndependentBranch()
    {
        var report = Path.Combine(_folder, "report.json");

        var (exitCode, output, _) = await CliProcess.RunAsync("run", "examples/partial-failure.json", "--report", report, "--quiet");

        Assert.Equal(1, exitCode);
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        var status = json.RootElement.GetProperty("results").EnumerateArray()
            .ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("status").GetString());
        Assert.Equal("failed", status["broken"]);
        Assert.Equal("timed_out", status["slow"]);
        Assert.Equal("skipped", status["after-broken"]);
        Assert.Equal("skipped", status["after-slow"]);
        Assert.Equal("succeeded", status["healthy"]);
        Assert.Equal("succeeded", status["summary"]);
        Assert.Contains("failed: 3 succeeded, 1 failed, 1 timed_out, 2 skipped", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_AYamlPlanWithAConfigFile_Succeeds()
    {
        var (exitCode, output, error) = await CliProcess.RunAsync("run", "examples/data-pipeline.yaml", "--config", "examples/config.json", "--quiet");

        Assert.True(exitCode == 0, error + output);
        Assert.Contains("7 succeeded", output, StringComparison.Ordinal);
        Assert.Contains("on 5 workers", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ProcessTasks_WithTheRepositorysPluginList()
    {
        var (exitCode, output, error) = await CliProcess.RunAsync("run", "examples/processes.json");

        Assert.True(exitCode == 0, error + output);
        Assert.Contains("Linux ", output, StringComparison.Ordinal);
        Assert.Contains("example plans", output, StringComparison.Ordinal);
        Assert.DoesNotContain("error", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Interrupting_ARun_CancelsItsTasks_AndExits130()
    {
        using var process = CliProcess.Start(["run", "long-running.json".InFixtures()], waitForLine: "started   long-2");

        await process.LineAsync();
        process.SendInterrupt();
        var exitCode = await process.WaitForExitAsync();

        Assert.Equal(130, exitCode);
        Assert.Contains("long-1  cancelled", process.Out, StringComparison.Ordinal);
        Assert.Contains("long-2  cancelled", process.Out, StringComparison.Ordinal);
        Assert.Contains("never   cancelled", process.Out, StringComparison.Ordinal);
        Assert.Contains("quick   succeeded", process.Out, StringComparison.Ordinal);
        Assert.Contains("cancelled: 1 succeeded, 3 cancelled", process.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quiet_prints_the_summary_line_and_the_problems_only_however_large_the_run()
    {
        var plan = Path.Combine(_folder, "plan.json");
        var tasks = Enumerable.Range(0, 20_000).Select(i => i == 7
            ? """{"id":"t7","worker":"simulate","with":{"fail":"fatal"}}"""
            : $$"""{"id":"t{{i}}","worker":"simulate"}""");
        File.WriteAllText(plan, $$"""{"tasks":[{{string.Join(",", tasks)}}]}""");

        var (quietExit, quiet, _) = await CliProcess.RunAsync("run", plan, "--quiet", "--no-journal");
        var (_, plain, _) = await CliProcess.RunAsync("run", plan, "--no-journal", "--workers", "2");

        Assert.Equal(1, quietExit);
        var lines = quiet.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("  t7 ", lines[0], StringComparison.Ordinal);
        Assert.Contains("failed: 19999 succeeded, 1 failed", lines[1], StringComparison.Ordinal);

        // Without --quiet the summary of a large run lists what did not succeed, not 20,000 lines.
        var summary = plain[plain.LastIndexOf("run finished", StringComparison.Ordinal)..];
        Assert.True(summary.Split('\n').Length < 20, summary);
        Assert.Contains("more tasks not listed", summary, StringComparison.Ordinal);
    }
}
