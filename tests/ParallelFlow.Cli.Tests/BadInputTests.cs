namespace ParallelFlow.Cli.Tests;

public sealed class BadInputTests
{
    [Theory]
    [InlineData("malformed.json", "malformed.json(5,5): error PF0001: malformed JSON")]
    [InlineData("cycle.json", "cycle.json(4,5): error PF0007: dependency cycle: build → test → package → build, each waiting for the next (3 tasks on the cycle: build, test, package)")]
    [InlineData("typo-key.json", "typo-key.json(5,40): error PF0002: task 'b': unknown key 'depend_on'. Did you mean 'depends_on'?")]
    [InlineData("unknown-worker.yaml", "unknown-worker.yaml(4,5): error PF0008: task 'a': unknown worker 'simulat'. Did you mean 'simulate'?")]
    [InlineData("negative-timeout.json", "negative-timeout.json(4,59): error PF0009: task 'a': timeout_seconds must be between 0.01 and 86400; got -1")]
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
    [InlineData("""{"tasks":[{"id":"a","worker":""}]}""", "plan.json(1,21): error PF0008: task 'a': the worker name is empty")]
    [InlineData("""{"id":"\ud800","tasks":[{"id":"a","worker":"simulate"}]}""", "plan.json(1,7): error PF0001: malformed JSON: the string holds an escape that is not a character")]
    [InlineData("""{"tasks":[{"id":"a","worker":"simulate","depends_on":["a"]}]}""", "plan.json(1,11): error PF0007: dependency cycle: a → a")]
    public async Task A_plan_the_user_can_fix_is_refused_at_its_position_and_nothing_is_journaled(string plan, string expected)
    {
        using var folderScratch = new TempFolder("parallelflow-bad-");
        var folder = folderScratch.Path;
        var path = Path.Combine(folder, "plan.json");
        File.WriteAllText(path, plan);
        var journal = Path.Combine(folder, "journal.db");

        var (exitCode, output, error) = await CliProcess.RunAsync("run", path, "--journal", journal);

        Assert.Equal(2, exitCode);
        Assert.Contains(path.Replace("plan.json", "", StringComparison.Ordinal) + expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("bug", error + output, StringComparison.Ordinal);
        Assert.False(File.Exists(journal), "a plan that never ran was journaled");
    }

    [Fact]
    public async Task Nesting_20000_deep_is_a_syntax_error_not_a_stack_overflow()
    {
        using var folderScratch = new TempFolder("parallelflow-deep-");
        var folder = folderScratch.Path;
        var path = Path.Combine(folder, "deep.yaml");
        File.WriteAllText(path, "tasks:\n" + string.Concat(Enumerable.Repeat("- ", 20_000)) + "x\n");

        foreach (var command in new[] { "validate", "run" })
        {
            var (exitCode, output, error) = await CliProcess.RunAsync(command, path);

            Assert.Equal(2, exitCode);
            Assert.Contains($"{path}(2,255): error PF0001: the plan nests lists and mappings more than 128 levels deep", error, StringComparison.Ordinal);
            Assert.DoesNotContain("overflow", error + output, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData(new[] { "run", "examples/release-check.json", "--workers", "0" }, "--workers must be at least 1")]
    [InlineData(new[] { "run", "examples/release-check.json", "--workers", "abc" }, "--workers: 'abc' is not a whole number")]
    [InlineData(new[] { "plan", "examples/release-check.json", "-w", "2.5" }, "--workers: '2.5' is not a whole number")]
    [InlineData(new[] { "run", "examples/release-check.json", "--cache-ttl", "-5" }, "--cache-ttl must be at least 0")]
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
