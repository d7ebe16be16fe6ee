using System.Text.Json;

namespace ParallelFlow.Cli.Tests;

/// <summary>Plan inputs through the real command: --input, --inputs, errors with exit code 2, plan and validate
/// listing them, and resume running again with the values the run had.</summary>
public sealed class InputsCommandTests
{
    private const string Example = "examples/release-notes-inputs.yaml";

    [Fact]
    public async Task Inputs_given_on_the_command_line_and_in_a_file_reach_the_tasks_and_the_report()
    {
        using var folderScratch = new TempFolder("parallelflow-inputs-");
        var folder = folderScratch.Path;
        var report = Path.Combine(folder, "report.json");
        var values = Path.Combine(folder, "values.json");
        File.WriteAllText(values, """{ "version": "2.0", "highlights": 4 }""");

        // --input wins over the file.
        var (exitCode, output, error) = await CliProcess.RunAsync("run", Example, "--inputs", values, "--input", "version=2.1", "--no-journal", "-q", "--report", report);

        Assert.True(exitCode == 0, error + output);
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        Assert.Equal("2.1", json.RootElement.GetProperty("inputs").GetProperty("version").GetString());
        Assert.Equal(4, json.RootElement.GetProperty("inputs").GetProperty("highlights").GetDouble());
        var notes = json.RootElement.GetProperty("results").EnumerateArray().Single(t => t.GetProperty("id").GetString() == "notes");
        Assert.Equal("Release 2.1: the top 4 of the changes since 2.1", notes.GetProperty("output").GetString());
    }

    [Fact]
    public async Task Wrong_inputs_are_all_reported_with_exit_code_2_and_nothing_runs()
    {
        var (exitCode, output, error) = await CliProcess.RunAsync("run", Example, "--input", "highlits=2", "--input", "nothing", "--no-journal");

        Assert.Equal(2, exitCode);
        Assert.Contains("release-notes-inputs.yaml: error PF0014: --input nothing: write NAME=VALUE", error, StringComparison.Ordinal);
        Assert.Contains("error PF0014: unknown input 'highlits'. Did you mean 'highlights'?", error, StringComparison.Ordinal);
        Assert.Contains("error PF0014: input 'version' is required (string: the version being released)", error, StringComparison.Ordinal);
        Assert.Contains("nothing was run", error, StringComparison.Ordinal);
        Assert.DoesNotContain("collect", output, StringComparison.Ordinal);

        var (typeExit, _, typeError) = await CliProcess.RunAsync("run", Example, "--input", "version=2", "--input", "highlights=many", "--no-journal");
        Assert.Equal(2, typeExit);
        Assert.Contains("release-notes-inputs.yaml: error PF0014: --input highlights: input 'highlights' must be a number; got 'many'", typeError, StringComparison.Ordinal);

        // A wrong value in an inputs file is reported against that file, not the plan.
        using var valuesScratch = new TempFolder("parallelflow-inputs-");
        var values = Path.Combine(valuesScratch.Path, "values.json");
        File.WriteAllText(values, """{ "version": "2.1", "highlights": "many" }""");
        var (fileExit, _, fileError) = await CliProcess.RunAsync("run", Example, "--inputs", values, "--no-journal");
        Assert.Equal(2, fileExit);
        Assert.Contains($"{values}: error PF0014: input 'highlights' must be a number; got the text 'many'", fileError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_value_a_worker_refuses_is_exit_code_2_naming_the_task_and_its_line()
    {
        using var folderScratch = new TempFolder("parallelflow-inputs-");
        var folder = folderScratch.Path;
        var plan = Path.Combine(folder, "wait.yaml");
        File.WriteAllText(plan, "inputs: { delay: number }\ntasks:\n  - id: wait\n    worker: simulate\n    with: { seconds: \"{{inputs.delay}}\" }\n");

        var (exitCode, _, error) = await CliProcess.RunAsync("run", plan, "--input", "delay=-1", "--no-journal");

        Assert.Equal(2, exitCode);
        Assert.Contains("wait.yaml(5,", error, StringComparison.Ordinal);
        Assert.Contains("task 'wait': with (inputs put in): seconds must be a number of at least 0; got -1", error, StringComparison.Ordinal);
        Assert.Contains("nothing was run", error, StringComparison.Ordinal);
        Assert.DoesNotContain("bug", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plan_and_validate_list_the_inputs()
    {
        var (planExit, plan, _) = await CliProcess.RunAsync("plan", Example);
        var (validateExit, validate, _) = await CliProcess.RunAsync("validate", Example);

        Assert.Equal((0, 0), (planExit, validateExit));
        foreach (var text in new[] { plan, validate })
        {
            Assert.Contains("  version: string, required — the version being released", text, StringComparison.Ordinal);
            Assert.Contains("  highlights: number, default 3 — how many highlights to list", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Resume_runs_again_with_the_inputs_the_run_had()
    {
        using var folderScratch = new TempFolder("parallelflow-inputs-");
        var folder = folderScratch.Path;
        var plan = Path.Combine(folder, "check.yaml");
        var marker = Path.Combine(folder, "ready");
        File.WriteAllText(plan, """
            inputs: { marker: string }
            tasks:
              - id: check
                worker: process
                with: { command: test, args: ["-f", "{{inputs.marker}}"] }
            """);
        var journal = Path.Combine(folder, "journal.db");

        var (failedExit, _, _) = await CliProcess.RunAsync("run", plan, "--input", $"marker={marker}", "--journal", journal, "-q");
        Assert.NotEqual(0, failedExit);
        var (_, runs, _) = await CliProcess.RunAsync("runs", "--journal", journal);
        var runId = runs.Split('\n')[1].Split(' ')[0];
        File.WriteAllText(marker, string.Empty);

        var (exitCode, output, error) = await CliProcess.RunAsync("resume", runId, "--journal", journal, "-q");

        Assert.True(exitCode == 0, error + output);
    }
}
