using System.Text.Json;

namespace ParallelFlow.Cli.Tests;

/// <summary>Estimates learned from the journal through the commands: the first run plans with the plan's guesses, the
/// next with what it measured; <c>plan</c> shows both; <c>--no-history</c> turns it off.</summary>
public sealed class LearnedEstimateCommandTests
{
    [Fact]
    public async Task A_second_run_plans_with_the_durations_the_first_measured_and_plan_shows_them()
    {
        using var folderScratch = new TempFolder("parallelflow-learned-");
        var folder = folderScratch.Path;
        var plan = Path.Combine(folder, "guesses.json");
        // The guesses are backwards: the task written as quick sleeps 0.4 s, the one written as slow takes none.
        File.WriteAllText(plan, """
            { "id": "guesses", "tasks": [
              { "id": "quick", "worker": "simulate", "with": { "seconds": 0.4 }, "estimate_seconds": 0.01 },
              { "id": "slow", "worker": "simulate", "with": { "seconds": 0 }, "estimate_seconds": 5 },
              { "id": "end", "worker": "simulate", "depends_on": ["quick", "slow"], "with": { "seconds": 0 } } ] }
            """);

        var journal = Path.Combine(folder, "journal.db");
        var (_, before, _) = await CliProcess.RunAsync("plan", plan, "--format", "json", "--journal", journal);
        var (first, _, firstError) = await CliProcess.RunAsync("run", plan, "--no-cache", "--journal", journal);
        var (second, _, secondError) = await CliProcess.RunAsync("run", plan, "--no-cache", "--journal", journal);
        var (_, after, _) = await CliProcess.RunAsync("plan", plan, "--format", "json", "--journal", journal);
        var (_, text, _) = await CliProcess.RunAsync("plan", plan, "--journal", journal);
        var (_, off, _) = await CliProcess.RunAsync("plan", plan, "--format", "json", "--no-history", "--journal", journal);

        Assert.Equal(0, first);
        Assert.DoesNotContain("estimates:", firstError, StringComparison.Ordinal);
        Assert.Equal(0, second);
        Assert.Contains("estimates: 3 of 3 tasks plan with what earlier runs measured", secondError, StringComparison.Ordinal);
        using var guessed = JsonDocument.Parse(before);
        using var learned = JsonDocument.Parse(after);
        using var ignored = JsonDocument.Parse(off);
        Assert.Equal(["slow", "end"], CriticalPath(guessed));
        Assert.Equal(["quick", "end"], CriticalPath(learned));
        Assert.Equal(["slow", "end"], CriticalPath(ignored));
        var quick = learned.RootElement.GetProperty("estimates").EnumerateArray().Single(e => e.GetProperty("id").GetString() == "quick");
        var slow = learned.RootElement.GetProperty("estimates").EnumerateArray().Single(e => e.GetProperty("id").GetString() == "slow");
        Assert.Equal((0.01, 2, "task"), (quick.GetProperty("plan_seconds").GetDouble(), quick.GetProperty("samples").GetInt32(), quick.GetProperty("learned_from").GetString()));
        // Measured, so not exact: the sleep is at least 0.4 s and the task that does nothing far less.
        Assert.True(quick.GetProperty("learned_seconds").GetDouble() >= 0.39, quick.ToString());
        Assert.True(slow.GetProperty("learned_seconds").GetDouble() < quick.GetProperty("learned_seconds").GetDouble() / 4, slow.ToString());
        Assert.Contains("estimates: 3 of 3 tasks plan with what earlier runs measured", text, StringComparison.Ordinal);
        Assert.Contains("the median of 2 run(s)", text, StringComparison.Ordinal);
    }

    private static List<string?> CriticalPath(JsonDocument plan) =>
        [.. plan.RootElement.GetProperty("critical_path").EnumerateArray().Select(e => e.GetString())];
}
