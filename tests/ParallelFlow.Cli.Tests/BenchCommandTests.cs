using System.Text.Json;

namespace ParallelFlow.Cli.Tests;

/// <summary><c>parallelflow bench</c> as someone comparing strategies runs it: every strategy (a plugin's included) at
/// every worker count, repeated, with a table, CSV, JSON and an HTML chart; a workflow trace; and what they get wrong.</summary>
public sealed class BenchCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("parallelflow-bench-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Every_strategy_at_every_worker_count_is_run_and_compared_with_the_bounds()
    {
        var plan = Path.Combine(_folder, "fan.json");
        File.WriteAllText(plan, """
            { "id": "fan", "tasks": [
              { "id": "a", "worker": "simulate", "with": { "seconds": 0.03 }, "estimate_seconds": 0.03 },
              { "id": "b", "worker": "simulate", "depends_on": ["a"], "with": { "seconds": 0.05 }, "estimate_seconds": 0.05 },
              { "id": "c", "worker": "simulate", "depends_on": ["a"], "with": { "seconds": 0.02 }, "estimate_seconds": 0.02 },
              { "id": "d", "worker": "simulate", "depends_on": ["a"], "with": { "seconds": 0.02 }, "estimate_seconds": 0.02 },
              { "id": "e", "worker": "simulate", "depends_on": ["b", "c", "d"], "with": { "seconds": 0.01 }, "estimate_seconds": 0.01 } ] }
            """);
        var (csv, json, html) = (Path.Combine(_folder, "runs.csv"), Path.Combine(_folder, "runs.json"), Path.Combine(_folder, "chart.html"));

        var (exitCode, output, error) = await CliProcess.RunAsync("bench", plan, "--strategy", "fifo,critical_path,fan_out_first", "--workers", "1,2", "--repeat", "2",
            "--plugins", Path.Combine(CliProcess.RepositoryRoot, "plugins.json"), "--csv", csv, "--json", json, "--html", html);

        Assert.True(exitCode == 0, output + error);
        Assert.Contains("[12/12] fan_out_first × 2:", error, StringComparison.Ordinal);
        var table = output.Split('\n').Where(l => l.StartsWith("fifo ", StringComparison.Ordinal) || l.StartsWith("critical_path ", StringComparison.Ordinal) || l.StartsWith("fan_out_first ", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, table.Count);
        Assert.StartsWith("fastest: ", output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1], StringComparison.Ordinal);

        Assert.Equal(13, File.ReadAllLines(csv).Length);
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var summary = document.RootElement.GetProperty("summary").EnumerateArray().ToList();
        Assert.Equal(6, summary.Count);
        foreach (var row in summary)
        {
            var (median, bound) = (row.GetProperty("median_seconds").GetDouble(), row.GetProperty("lower_bound_seconds").GetDouble());
            Assert.True(median >= bound * 0.95, $"{row}: the makespan is below the lower bound");
            // The simulated makespan of a built-in order on one worker is the work: 0.13 s.
            if (row.GetProperty("workers").GetInt32() == 1 && row.GetProperty("strategy").GetString() != "fan_out_first")
            {
                Assert.Equal(0.13, row.GetProperty("simulated_seconds").GetDouble(), 3);
            }
        }

        Assert.Equal(JsonValueKind.Null, summary.First(r => r.GetProperty("strategy").GetString() == "fan_out_first").GetProperty("simulated_seconds").ValueKind);
        Assert.Equal(12, document.RootElement.GetProperty("runs").GetArrayLength());
        var page = File.ReadAllText(html);
        Assert.Equal(6, page.Split("class=\"pf-bar\"").Length - 1);
        Assert.DoesNotContain("<script", page, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_workflow_trace_is_benchmarked_as_it_is_run()
    {
        var trace = Path.Combine(CliProcess.RepositoryRoot, "tests", "ParallelFlow.Engine.Tests", "Plans", "Fixtures", "diamond.wfformat.json");

        var (exitCode, output, error) = await CliProcess.RunAsync("bench", trace, "--time-scale", "0.001", "--strategy", "critical_path,shortest_first", "--workers", "2", "--repeat", "1");

        Assert.True(exitCode == 0, output + error);
        Assert.Contains("critical_path   2 ", output, StringComparison.Ordinal);
        Assert.Contains("shortest_first  2 ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_misspelt_strategy_or_a_worker_count_that_is_not_one_is_a_one_line_error()
    {
        var plan = Path.Combine(CliProcess.RepositoryRoot, "examples", "release-check.json");

        var strategy = await CliProcess.RunAsync("bench", plan, "--strategy", "fifo,critcal_path");
        var workers = await CliProcess.RunAsync("bench", plan, "--workers", "2,two");

        Assert.Equal(2, strategy.ExitCode);
        Assert.Contains("Did you mean 'critical_path'?", strategy.Error, StringComparison.Ordinal);
        Assert.Equal(2, workers.ExitCode);
        Assert.Contains("--workers: 'two' is not a worker count", workers.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", strategy.Error + workers.Error, StringComparison.Ordinal);
    }
}
