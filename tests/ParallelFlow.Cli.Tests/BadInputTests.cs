namespace ParallelFlow.Cli.Tests;

public sealed class BadInputTests
{
    [Theory]
    [InlineData("malformed.json", "malformed.json(5,5): error PF0001: malformed JSON")]
    [InlineData("cycle.json", "cycle.json(4,5): error PF0007: dependency cycle: build → test → package → build, each waiting for the next (3 tasks on the cycle: build, test, package)")]
    [InlineData("typo-key.json", "typo-key.json(5,40): error PF0002: task 'b': unknown key 'depend_on'. Did you mean 'depends_on'?")]
    [InlineData("unknown-worker.yaml", "unknown-worker.yaml(4,5): error PF0008: task 'a': unknown worker 'simulat'. Did you mean 'simulate'?")]
    [InlineData("negative-timeout.json", "negative-timeout.json(4,59): error PF0009: task 'a': timeout_seconds must be greater than 0; got -1")]
    public async Task BadPlans_GetAPositionedErrorAndExitTwo_ForEveryCommand(string fixture, string expected)
    {
        foreach (var command in new[] { "run", "validate", "plan" })
        {
            var (exitCode, output, error) = await CliProcess.RunAsync(command, fixture.InFixtures());

            Assert.Equal(2, exitCode);
            Assert.Contains(expected, error, StringComparison.Ordinal);
            Assert.Contains("nothing was run", error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", error + output, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", error + output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(new[] { "run", "examples/release-check.json", "--workers", "0" }, "--workers must be at least 1")]
    [InlineData(new[] { "run", "examples/release-check.json", "--workers", "11" }, "above the plan's parallelism.max_workers (10)")]
    [InlineData(new[] { "plan", "examples/release-check.json", "--format", "svg" }, "Argument 'svg' not recognized")]
    [InlineData(new[] { "frobnicate" }, "Unrecognized command or argument 'frobnicate'")]
    [InlineData(new[] { "run" }, "Required argument missing")]
    [InlineData(new[] { "run", "examples/no-such-plan.json" }, "examples/no-such-plan.json: error PF0001: cannot read the file: file not found")]
    [InlineData(new[] { "run", "examples/release-check.json", "--report", "/proc/no-such-dir/report.json" }, "/proc/no-such-dir/report.json: error: cannot write the report")]
    public async Task BadUsage_ExitsTwo_WithTheReason(string[] args, string expected)
    {
        var (exitCode, output, error) = await CliProcess.RunAsync(args);

        Assert.Equal(2, exitCode);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error + output, StringComparison.Ordinal);
    }
}
