using System.CommandLine;
using System.Text.Json;
using ParallelFlow.Cli.Commands;

namespace ParallelFlow.Cli.Tests;

/// <summary>The command line as a new user tries it: help with no arguments, <c>--plugins</c> on every command that
/// loads plugins, one rule for finding plugins.json and the journal, commands printed so they can be pasted, a task's
/// whole output, <c>cache why</c> that compares like with like, and <c>run --only</c>.</summary>
public sealed class CliBehaviourTests
{
    private const string Plan = """
        { "id": "behaviour",
          "tasks": [
            { "id": "long", "worker": "template", "with": { "text": "LONG_TEXT" } },
            { "id": "uses", "worker": "template", "depends_on": ["long"], "with": { "text": "saw {{long}}" } },
            { "id": "fails", "worker": "simulate", "with": { "seconds": 0, "fail_attempts": 1, "fail": "fatal" } }
          ] }
        """;

    private static readonly string LongText = string.Concat(Enumerable.Range(0, 60).Select(i => $"word{i} ")) + "THE-END";

    [Fact]
    public async Task With_no_arguments_it_prints_the_help()
    {
        var (exitCode, output, error) = await InProcessCli.RunAsync();

        Assert.Equal(0, exitCode);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        Assert.Contains("run", output, StringComparison.Ordinal);
        Assert.Equal(string.Empty, error);
    }

    [Fact]
    public void Every_command_that_loads_plugins_takes_the_plugins_option()
    {
        var root = CliApplication.CreateRoot(new CliConsole(TextWriter.Null, TextWriter.Null, false));
        foreach (var name in new[] { "run", "validate", "plan", "plugins", "resume" })
        {
            var command = root.Subcommands.Single(c => c.Name == name);
            Assert.True(command.Options.Any(o => o.Name == "--plugins"), $"{name} has no --plugins");
        }
    }

    [Fact]
    public async Task Resume_takes_plugins_too()
    {
        using var folderScratch = new TempFolder("parallelflow-cli-");
        var folder = folderScratch.Path;

        var (exitCode, _, error) = await InProcessCli.RunAsync("resume", "no-such-run", "--plugins", "plugins.json", "--journal", Path.Combine(folder, "journal.db"));

        Assert.Equal(2, exitCode);
        Assert.DoesNotContain("Unrecognized", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no-such-plugins.json")]
    [InlineData("plan.json")]
    public async Task A_plugin_list_given_with_plugins_that_cannot_be_read_as_one_stops_the_run(string given)
    {
        using var folderScratch = new TempFolder("parallelflow-cli-");
        var folder = folderScratch.Path;
        var plan = Path.Combine(folder, "plan.json");
        File.WriteAllText(plan, """{ "id": "p", "tasks": [ { "id": "a", "worker": "template", "with": { "text": "hi" } } ] }""");

        var (exitCode, output, error) = await InProcessCli.RunAsync("run", plan, "--plugins", Path.Combine(folder, given), "--journal", Path.Combine(folder, "journal.db"));

        Assert.Equal(2, exitCode);
        Assert.Contains("the plugin list given with --plugins cannot be used", error, StringComparison.Ordinal);
        Assert.DoesNotContain("succeeded", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder, "journal.db")), "a run was recorded");
    }

    [Fact]
    public async Task A_journal_that_cannot_be_opened_leaves_the_output_files_as_they_were()
    {
        using var folderScratch = new TempFolder("parallelflow-cli-");
        var folder = folderScratch.Path;
        var plan = Path.Combine(folder, "plan.json");
        File.WriteAllText(plan, """{ "id": "p", "tasks": [ { "id": "a", "worker": "template", "with": { "text": "hi" } } ] }""");
        var report = Path.Combine(folder, "report.json");
        File.WriteAllText(report, "the last run's report");
        var html = Path.Combine(folder, "new.html");

        // A journal under a file: it cannot be opened, and nothing runs.
        var (exitCode, _, error) = await InProcessCli.RunAsync("run", plan, "--journal", Path.Combine(plan, "journal.db"), "-r", report, "--html", html);

        Assert.Equal(2, exitCode);
        Assert.Contains("nothing was run", error, StringComparison.Ordinal);
        Assert.Equal("the last run's report", File.ReadAllText(report));
        Assert.False(File.Exists(html), "an output file was left behind by a command that ran nothing");
    }

    [Fact]
    public async Task Validate_of_a_plan_of_built_in_workers_loads_no_plugin_but_still_reads_a_list_given_with_plugins()
    {
        using var folderScratch = new TempFolder("parallelflow-cli-");
        var folder = folderScratch.Path;
        // A plugin list beside the plans whose one plugin is not built: loading it would say so (PF0102).
        File.WriteAllText(Path.Combine(folder, "plugins.json"), """{ "plugins": [ { "name": "unbuilt", "path": "nowhere/Unbuilt.dll" } ] }""");
        var builtIn = Path.Combine(folder, "built-in.json");
        File.WriteAllText(builtIn, """{ "id": "b", "tasks": [ { "id": "a", "worker": "template", "with": { "text": "hi" } } ] }""");
        var pluginWorker = Path.Combine(folder, "plugin-worker.json");
        File.WriteAllText(pluginWorker, """{ "id": "p", "tasks": [ { "id": "a", "worker": "process", "with": { "command": "true" } } ] }""");

        var (exitCode, output, error) = await InProcessCli.RunAsync("validate", builtIn);
        Assert.Equal(0, exitCode);
        Assert.Contains("valid", output, StringComparison.Ordinal);
        Assert.DoesNotContain("PF0102", error, StringComparison.Ordinal);

        // A plan that needs a plugin loads the list, and hears about the one that would not load.
        (exitCode, _, error) = await InProcessCli.RunAsync("validate", pluginWorker);
        Assert.Equal(2, exitCode);
        Assert.Contains("PF0102", error, StringComparison.Ordinal);
        Assert.Contains("PF0008", error, StringComparison.Ordinal);

        // A list named on the command line is read even when no plugin is needed.
        (exitCode, _, error) = await InProcessCli.RunAsync("validate", builtIn, "--plugins", Path.Combine(folder, "missing.json"));
        Assert.Equal(2, exitCode);
        Assert.Contains("the plugin list given with --plugins cannot be used", error, StringComparison.Ordinal);
        Assert.Contains("PF0101", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--trace")]
    [InlineData("--html")]
    [InlineData("--report")]
    public async Task An_output_file_that_cannot_be_written_stops_the_run_before_the_journal_records_it(string option)
    {
        using var folderScratch = new TempFolder("parallelflow-cli-");
        var folder = folderScratch.Path;
        var plan = Path.Combine(folder, "plan.json");
        File.WriteAllText(plan, Plan.Replace("LONG_TEXT", "x", StringComparison.Ordinal));
        var journal = Path.Combine(folder, "journal.db");
        Assert.Equal(1, (await InProcessCli.RunAsync("run", plan, "--journal", journal, "--quiet")).ExitCode);

        // A folder, and a path under a file.
        foreach (var path in new[] { folder, Path.Combine(plan, "out.html") })
        {
            var (exitCode, _, error) = await InProcessCli.RunAsync("run", plan, "--journal", journal, option, path);
            Assert.Equal(2, exitCode);
            Assert.Contains("nothing was done", error, StringComparison.Ordinal);
        }

        Assert.Contains($"'{plan}' is a file, not a folder", (await InProcessCli.RunAsync("run", plan, "--journal", journal, option, Path.Combine(plan, "x"))).Error, StringComparison.Ordinal);
        var (_, runs, _) = await InProcessCli.RunAsync("runs", "--json", "--journal", journal);
        Assert.Equal(1, JsonDocument.Parse(runs).RootElement.GetArrayLength());

        // Nor is a failed run's state touched when its resume is refused for a file.
        var runId = JsonDocument.Parse(runs).RootElement[0].GetProperty("run_id").GetString()!;
        Assert.Equal(2, (await InProcessCli.RunAsync("resume", runId, "--journal", journal, option, folder)).ExitCode);
        (_, runs, _) = await InProcessCli.RunAsync("runs", "--json", "--journal", journal);
        Assert.Equal("failed", JsonDocument.Parse(runs).RootElement[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task Plugins_json_beside_the_plan_is_found_and_none_found_is_said_when_a_worker_is_unknown()
    {
        using var folderScratch = new TempFolder("parallelflow-cli-");
        var folder = folderScratch.Path;
        var plan = Path.Combine(folder, "plan.json");
        File.WriteAllText(plan, """{ "tasks": [ { "id": "hello", "worker": "process", "with": { "command": "echo", "args": ["hi"] } } ] }""");
        Assert.False(File.Exists(FileLookup.Plugins), "the tests' current folder has a plugins.json");

        var (exitCode, _, error) = await InProcessCli.RunAsync("validate", plan);

        Assert.Equal(2, exitCode);
        Assert.Contains("unknown worker 'process'", error, StringComparison.Ordinal);
        Assert.Contains($"note: no plugins.json was found (looked for {Path.Combine(folder, "plugins.json")}", error, StringComparison.Ordinal);

        var dll = Path.Combine(CliProcess.RepositoryRoot, "artifacts", "plugins", "ParallelFlow.Plugins.Process", "ParallelFlow.Plugins.Process.dll");
        File.WriteAllText(Path.Combine(folder, "plugins.json"), JsonSerializer.Serialize(new { plugins = new[] { new { name = "process", path = dll, enabled = true } } }));

        (exitCode, var output, error) = await InProcessCli.RunAsync("validate", plan);

        Assert.True(exitCode == 0, error);
        Assert.Contains("valid", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Files_are_looked_for_beside_the_plan_then_here_then_in_the_home_folder()
    {
        // The home folder is passed in, not set in the environment: other tests run beside this one.
        using var homeScratch = new TempFolder("parallelflow-home-");
        var home = homeScratch.Path;
        var plan = Path.Combine(Path.GetTempPath(), "somewhere", "plan.json");
        var folders = FileLookup.Folders(plan, home);
        Assert.Equal([Path.GetDirectoryName(plan)!, Directory.GetCurrentDirectory(), home], folders);
        Assert.Equal([Directory.GetCurrentDirectory(), home], FileLookup.Folders(null, home));
        Assert.Equal([Directory.GetCurrentDirectory()], FileLookup.Folders(null, null));

        Assert.Null(FileLookup.Find(FileLookup.Plugins, folders));
        File.WriteAllText(Path.Combine(home, "plugins.json"), """{ "plugins": [] }""");
        Assert.Equal(Path.Combine(home, "plugins.json"), FileLookup.Find(FileLookup.Plugins, folders));
        Directory.CreateDirectory(Path.Combine(home, ".parallelflow"));
        File.WriteAllText(Path.Combine(home, FileLookup.Journal), string.Empty);
        Assert.Equal(Path.Combine(home, FileLookup.Journal), FileLookup.Find(FileLookup.Journal, folders));
    }

    [Fact]
    public async Task Show_prints_a_tasks_whole_output_and_error_and_the_commands_it_prints_can_be_pasted()
    {
        using var folderScratch = new TempFolder("parallelflow-cli-");
        var folder = folderScratch.Path;
        var spaced = Path.Combine(folder, "my runs");
        var plan = Path.Combine(folder, "plan.json");
        File.WriteAllText(plan, Plan.Replace("LONG_TEXT", LongText, StringComparison.Ordinal));
        var journal = Path.Combine(spaced, "journal.db");

        var (exitCode, output, _) = await InProcessCli.RunAsync("run", plan, "--journal", journal);

        Assert.Equal(1, exitCode);
        Assert.Contains($"--journal '{journal}'", output, StringComparison.Ordinal);
        Assert.Contains($"parallelflow resume", output, StringComparison.Ordinal);
        var runId = output.Split('\n').Single(l => l.StartsWith("Run ", StringComparison.Ordinal)).Split(' ')[1];

        (exitCode, output, _) = await InProcessCli.RunAsync("show", runId, "long", "--journal", journal);
        Assert.Equal(0, exitCode);
        Assert.Contains(LongText, output, StringComparison.Ordinal);

        (exitCode, output, _) = await InProcessCli.RunAsync("show", runId, "fails", "--journal", journal);
        Assert.Equal(0, exitCode);
        Assert.Contains("error:\nsimulated fatal failure of task 'fails'", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);

        (exitCode, _, var error) = await InProcessCli.RunAsync("show", runId, "lonng", "--journal", journal);
        Assert.Equal(2, exitCode);
        Assert.Contains("did you mean 'long'?", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cache_why_compares_with_earlier_entries_of_the_same_task_and_names_no_cache()
    {
        using var folderScratch = new TempFolder("parallelflow-cli-");
        var folder = folderScratch.Path;
        var plan = Path.Combine(folder, "plan.json");
        var journal = Path.Combine(folder, "journal.db");
        File.WriteAllText(plan, """{ "tasks": [ { "id": "a", "worker": "template", "with": { "text": "one" } }, { "id": "b", "worker": "template", "with": { "text": "two!" } } ] }""");
        Assert.Equal(0, (await InProcessCli.RunAsync("run", plan, "--journal", journal, "--quiet")).ExitCode);
        File.WriteAllText(plan, """{ "tasks": [ { "id": "a", "worker": "template", "with": { "text": "two" } }, { "id": "b", "worker": "template", "with": { "text": "two!" } } ] }""");
        Assert.Equal(0, (await InProcessCli.RunAsync("run", plan, "--journal", journal, "--quiet")).ExitCode);
        Assert.Equal(0, (await InProcessCli.RunAsync("run", plan, "--journal", journal, "--quiet", "--no-cache")).ExitCode);
        var runs = (await InProcessCli.RunAsync("runs", "--journal", journal)).Out.Split('\n').Skip(1).Where(l => l.Length > 0).Select(l => l.Split(' ')[0]).ToList();
        var (noCache, changed) = (runs[0], runs[1]);

        var (exitCode, output, _) = await InProcessCli.RunAsync("cache", "why", changed, "a", "--journal", journal);
        Assert.Equal(0, exitCode);
        // Only task a's own earlier entry is compared, though task b's differs from a's new parameters just as little.
        Assert.Contains("the closest entry is run", output, StringComparison.Ordinal);
        Assert.Contains("task a,", output, StringComparison.Ordinal);
        Assert.Contains("with.text: \"one\" then, \"two\" now", output, StringComparison.Ordinal);

        (exitCode, output, _) = await InProcessCli.RunAsync("cache", "why", noCache, "a", "--journal", journal);
        Assert.Equal(0, exitCode);
        Assert.Contains("the run was started with --no-cache", output, StringComparison.Ordinal);

        (exitCode, _, var error) = await InProcessCli.RunAsync("cache", "why", changed, "c", "--journal", journal);
        Assert.Equal(2, exitCode);
        Assert.Contains("recorded no task 'c'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_runs_the_tasks_named_and_what_they_depend_on()
    {
        using var folderScratch = new TempFolder("parallelflow-cli-");
        var folder = folderScratch.Path;
        var report = Path.Combine(folder, "report.json");

        var (exitCode, _, error) = await InProcessCli.RunAsync("run", Path.Combine(CliProcess.RepositoryRoot, "examples", "release-check.json"), "--no-journal", "--quiet", "--only", "package", "-r", report);

        Assert.True(exitCode == 0, error);
        using var written = JsonDocument.Parse(File.ReadAllText(report));
        var ids = written.RootElement.GetProperty("results").EnumerateArray().Select(t => t.GetProperty("id").GetString()).Order(StringComparer.Ordinal);
        Assert.Equal(["build-linux", "build-windows", "package"], ids);
        Assert.Contains("--only: running 3 of 8 tasks", error, StringComparison.Ordinal);

        (exitCode, _, error) = await InProcessCli.RunAsync("run", Path.Combine(CliProcess.RepositoryRoot, "examples", "release-check.json"), "--no-journal", "--only", "pakage");
        Assert.Equal(2, exitCode);
        Assert.Contains("did you mean 'package'?", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_run_of_some_tasks_resumes_as_those_tasks()
    {
        using var folderScratch = new TempFolder("parallelflow-cli-");
        var folder = folderScratch.Path;
        var plan = Path.Combine(folder, "plan.json");
        var journal = Path.Combine(folder, "journal.db");
        File.WriteAllText(plan, """
            { "tasks": [
              { "id": "a", "worker": "template", "with": { "text": "one" } },
              { "id": "b", "worker": "simulate", "depends_on": ["a"], "with": { "fail": "fatal" } },
              { "id": "c", "worker": "template", "with": { "text": "not asked for" } } ] }
            """);

        var (exitCode, output, _) = await InProcessCli.RunAsync("run", plan, "--journal", journal, "--quiet", "--only", "b");
        Assert.Equal(1, exitCode);
        var runId = (await InProcessCli.RunAsync("runs", "--journal", journal)).Out.Split('\n')[1].Split(' ')[0];

        (exitCode, output, _) = await InProcessCli.RunAsync("resume", runId, "--journal", journal, "--quiet");

        Assert.Equal(1, exitCode);
        Assert.Contains($"resuming run {runId}: 1 of 2 tasks keep their recorded outputs", output, StringComparison.Ordinal);
        Assert.DoesNotContain(" c ", (await InProcessCli.RunAsync("show", runId, "--journal", journal)).Out, StringComparison.Ordinal);
    }
}
