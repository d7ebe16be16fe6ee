namespace ParallelFlow.Cli.Tests;

public sealed class PlanAndValidateCommandTests : IDisposable
{
    // The plans and reports the tests write, deleted with the folder.
    private readonly string _folder = Directory.CreateTempSubdirectory("parallelflow-plan-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Validate_AGoodPlan_SaysSoAndExitsZero()
    {
        var (exitCode, output, _) = await CliProcess.RunAsync("validate", "examples/release-check.json");

        Assert.Equal(0, exitCode);
        Assert.Equal("examples/release-check.json: valid — 8 tasks, 8 dependencies, 3 waves", output.Trim());
    }

    [Theory]
    [InlineData("text", "critical path: research-api → design → release-notes (2.4s estimated)")]
    [InlineData("json", "\"critical_path_seconds\": 2.4")]
    [InlineData("mermaid", "flowchart LR")]
    [InlineData("dot", "digraph \"release-check\" {")]
    public async Task Plan_RendersEachFormat(string format, string expected)
    {
        var (exitCode, output, _) = await CliProcess.RunAsync("plan", "examples/release-check.json", "--format", format);

        Assert.Equal(0, exitCode);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plan_SimulatesEachBuiltInStrategy_OnTheWorkerCount()
    {
        // Three 1 s roots on two workers, one of them ahead of a 9 s tail: only the critical path starts it first.
        var plan = Path.Combine(_folder, "plan.json");
        File.WriteAllText(plan, """
            { "id": "lookahead", "tasks": [
              { "id": "x1", "worker": "simulate", "estimate_seconds": 1 },
              { "id": "x2", "worker": "simulate", "estimate_seconds": 1 },
              { "id": "h", "worker": "simulate", "estimate_seconds": 1 },
              { "id": "tail", "worker": "simulate", "depends_on": ["h"], "estimate_seconds": 9 } ] }
            """);

        var (exitCode, output, error) = await CliProcess.RunAsync("plan", plan, "--workers", "2");

        Assert.True(exitCode == 0, error);
        Assert.Contains("lower bound:   10s on 2 workers", output, StringComparison.Ordinal);
        Assert.Contains("simulated:     critical_path 10s · priority 11s · fifo 11s · shortest_first 11s (list scheduling on 2 workers", output, StringComparison.Ordinal);
    }
}
