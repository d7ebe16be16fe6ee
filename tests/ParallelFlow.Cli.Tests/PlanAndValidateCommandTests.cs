namespace ParallelFlow.Cli.Tests;

public sealed class PlanAndValidateCommandTests
{
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
}
