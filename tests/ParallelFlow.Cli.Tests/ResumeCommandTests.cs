namespace ParallelFlow.Cli.Tests;

/// <summary>
/// Resume after a real kill -9 of a real <c>parallelflow run</c>: three process tasks in a chain each append their
/// name to a file when they execute, and one of them is held until the test has killed the run.
/// </summary>
public sealed class ResumeCommandTests
{
    [Theory]
    [InlineData("first")]   // killed before any task finished
    [InlineData("second")]  // killed during a task, after one finished
    [InlineData("third")]   // killed after two tasks finished
    public async Task A_killed_run_resumes_without_running_finished_tasks_again(string held)
    {
        using var folderScratch = new TempFolder("parallelflow-resume-");
        var folder = folderScratch.Path;
        var plan = WritePlan(folder);
        var journal = Path.Combine(folder, "journal.db");
        File.WriteAllText(Path.Combine(folder, $"hold.{held}"), string.Empty);

        string[] order = ["first", "second", "third"];
        var heldAt = Array.IndexOf(order, held);
        // Killed once the held task runs and the tasks before it are durable: a dependent may start before its
        // dependency's entry is committed (the journal's early release), and a crash in between runs that one again.
        await KillWhenAsync(["run", plan, "--journal", journal], () => Executions(folder).Contains(held) && Succeeded(journal) == heldAt);

        var (_, runs, _) = await CliProcess.RunAsync("runs", "--journal", journal);
        var line = runs.Split('\n')[1];
        Assert.Contains("interrupted", line, StringComparison.Ordinal);
        var runId = line.Split(' ')[0];
        File.Delete(Path.Combine(folder, $"hold.{held}"));

        var (exitCode, output, error) = await CliProcess.RunAsync("resume", runId, "--journal", journal);

        Assert.True(exitCode == 0, error + output);
        var executions = Executions(folder);
        for (var i = 0; i < order.Length; i++)
        {
            // The held task was interrupted, so it runs again; those before it are not run again, those after run once.
            Assert.Equal(i == heldAt ? 2 : 1, executions.Count(e => e == order[i]));
        }

        var (_, shown, _) = await CliProcess.RunAsync("show", runId, "--journal", journal);
        Assert.Contains("succeeded", shown.Split('\n')[0], StringComparison.Ordinal);
        Assert.Contains($"resuming run {runId}: {heldAt} of 3 tasks keep their recorded outputs", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resume_after_an_edit_runs_only_the_changed_task_and_what_depends_on_it()
    {
        using var folderScratch = new TempFolder("parallelflow-resume-");
        var folder = folderScratch.Path;
        var plan = WriteBranches(folder, middle: "one");
        var journal = Path.Combine(folder, "journal.db");
        var (ran, _, ranError) = await CliProcess.RunAsync("run", plan, "--journal", journal);
        Assert.True(ran == 0, ranError);
        var (_, runs, _) = await CliProcess.RunAsync("runs", "--journal", journal);
        var runId = runs.Split('\n')[1].Split(' ')[0];
        File.Delete(Path.Combine(folder, "executions.txt"));

        // The middle task of one branch changes; its sibling branch and the task they start from do not.
        WriteBranches(folder, middle: "two");
        var (exitCode, output, error) = await CliProcess.RunAsync("resume", runId, "--journal", journal);

        Assert.True(exitCode == 0, error + output);
        // Counted per task: only the edited task and its descendants executed, once each.
        Assert.Equal(["b1", "b2", "join"], Executions(folder).Order(StringComparer.Ordinal));
        Assert.Contains($"resuming run {runId} after an edit to branches.json: 3 of 6 tasks keep their recorded outputs", output, StringComparison.Ordinal);
        Assert.Contains("1 task changed or asked for, 2 more run again because they depend on one", output, StringComparison.Ordinal);
        Assert.Contains("  b1: with.args: [\"-c\",\"echo b1 >> executions.txt; echo one\"] then, ", output, StringComparison.Ordinal);
        Assert.Contains("  b2: it depends on 'b1', which runs again", output, StringComparison.Ordinal);
        Assert.Contains("  join: it depends on 'b2', which runs again", output, StringComparison.Ordinal);
        var (_, shown, _) = await CliProcess.RunAsync("show", runId, "b1", "--journal", journal);
        Assert.Contains("echo two", File.ReadAllText(plan), StringComparison.Ordinal);
        Assert.Contains("two", shown, StringComparison.Ordinal);

        // Resumed again with the plan as it is now: nothing left to run.
        var (again, nothing, _) = await CliProcess.RunAsync("resume", runId, "--journal", journal);
        Assert.Equal(0, again);
        Assert.Contains("there is nothing to resume", nothing, StringComparison.Ordinal);

        // --from forces a task and its descendants, with no edit.
        File.Delete(Path.Combine(folder, "executions.txt"));
        var (forced, forcedOutput, forcedError) = await CliProcess.RunAsync("resume", runId, "--from", "a2", "--journal", journal);
        Assert.True(forced == 0, forcedError + forcedOutput);
        Assert.Equal(["a2", "join"], Executions(folder).Order(StringComparer.Ordinal));
        Assert.Contains("  a2: asked for with --from", forcedOutput, StringComparison.Ordinal);

        // A change to the file that changes no task's definition (an estimate) leaves the succeeded run as it is.
        File.Delete(Path.Combine(folder, "executions.txt"));
        File.WriteAllText(plan, File.ReadAllText(plan).Replace("{ \"id\": \"join\",", "{ \"id\": \"join\", \"estimate_seconds\": 3,", StringComparison.Ordinal));
        var (noop, noopOutput, _) = await CliProcess.RunAsync("resume", runId, "--journal", journal);
        Assert.Equal(0, noop);
        Assert.Contains("branches.json changed, but no task's definition did, so there is nothing to resume", noopOutput, StringComparison.Ordinal);
        Assert.Empty(Executions(folder));
        var (_, again2, _) = await CliProcess.RunAsync("resume", runId, "--journal", journal);
        Assert.Contains("its plan is as it was; there is nothing to resume", again2, StringComparison.Ordinal);

        var (typo, _, typoError) = await CliProcess.RunAsync("resume", runId, "--from", "a22", "--journal", journal);
        Assert.Equal(2, typo);
        Assert.Contains("--from: the plan has no task 'a22'; did you mean 'a2'?", typoError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", typoError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_interrupted_run_resumed_after_an_edit_keeps_what_still_fits()
    {
        using var folderScratch = new TempFolder("parallelflow-resume-");
        var folder = folderScratch.Path;
        var plan = WritePlan(folder);
        var journal = Path.Combine(folder, "journal.db");
        File.WriteAllText(Path.Combine(folder, "hold.third"), string.Empty);
        await KillWhenAsync(["run", plan, "--journal", journal], () => Executions(folder).Contains("third") && Succeeded(journal) == 2);

        File.Delete(Path.Combine(folder, "hold.third"));
        // 'second' changes, and 'third' now depends on 'first' instead.
        File.WriteAllText(plan, File.ReadAllText(plan)
            .Replace("echo second >> executions.txt;", "echo second >> executions.txt; echo edited;", StringComparison.Ordinal)
            .Replace("\"depends_on\": [\"second\"]", "\"depends_on\": [\"first\"]", StringComparison.Ordinal));
        var (_, runs, _) = await CliProcess.RunAsync("runs", "--journal", journal);
        var runId = runs.Split('\n')[1].Split(' ')[0];

        var (exitCode, output, error) = await CliProcess.RunAsync("resume", runId, "--journal", journal);

        Assert.True(exitCode == 0, error + output);
        var executions = Executions(folder);
        Assert.Equal(["first", "second", "third"], executions[..3]);
        Assert.Equal(["second", "third"], executions[3..].Order(StringComparer.Ordinal));
        Assert.Contains("  second: with.args:", output, StringComparison.Ordinal);
        Assert.Contains("  third: it depends on 'first' now; it no longer depends on 'second'", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_resume_after_an_edit_that_is_killed_leaves_the_edited_tasks_to_run_on_the_next_resume()
    {
        using var folderScratch = new TempFolder("parallelflow-resume-");
        var folder = folderScratch.Path;
        var plan = WritePlan(folder);
        var journal = Path.Combine(folder, "journal.db");
        var (ran, _, ranError) = await CliProcess.RunAsync("run", plan, "--journal", journal);
        Assert.True(ran == 0, ranError);
        var (_, runs, _) = await CliProcess.RunAsync("runs", "--journal", journal);
        var runId = runs.Split('\n')[1].Split(' ')[0];

        // 'second' is edited; its new run is killed while it runs, before it (or 'third') recorded anything new.
        File.WriteAllText(plan, File.ReadAllText(plan).Replace("echo second >> executions.txt;", "echo second >> executions.txt; echo edited;", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(folder, "hold.second"), string.Empty);
        await KillWhenAsync(["resume", runId, "--journal", journal], () => Executions(folder).Count(e => e == "second") == 2);

        File.Delete(Path.Combine(folder, "hold.second"));
        var (exitCode, output, error) = await CliProcess.RunAsync("resume", runId, "--journal", journal);

        // The old outputs of 'second' and 'third' were dropped with the first resume: both run, 'first' does not.
        Assert.True(exitCode == 0, error + output);
        Assert.Equal(["first", "second", "third", "second", "second", "third"], Executions(folder));
        Assert.Contains($"resuming run {runId}: 1 of 3 tasks keep their recorded outputs", output, StringComparison.Ordinal);
        var (_, shown, _) = await CliProcess.RunAsync("show", runId, "second", "--journal", journal);
        Assert.Contains("edited", shown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_run_recorded_without_fingerprints_is_not_resumed_after_an_edit()
    {
        using var folderScratch = new TempFolder("parallelflow-resume-");
        var folder = folderScratch.Path;
        var plan = WritePlan(folder);
        var journal = Path.Combine(folder, "journal.db");
        File.WriteAllText(Path.Combine(folder, "hold.second"), string.Empty);
        await KillWhenAsync(["run", plan, "--journal", journal], () => Executions(folder).Contains("second"));

        // As an earlier version recorded it.
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={journal};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE runs SET fingerprints = NULL;";
            command.ExecuteNonQuery();
        }

        File.AppendAllText(plan, "\n");
        var (_, runs, _) = await CliProcess.RunAsync("runs", "--journal", journal);
        var runId = runs.Split('\n')[1].Split(' ')[0];

        var (exitCode, _, error) = await CliProcess.RunAsync("resume", runId, "--journal", journal);

        Assert.Equal(2, exitCode);
        Assert.Contains($"the plan changed since run {runId} started, and the run was recorded by an earlier version that kept no task fingerprints", error, StringComparison.Ordinal);
        Assert.Equal(["first", "second"], Executions(folder));
    }

    [Fact]
    public async Task A_file_that_is_not_a_journal_is_refused_untouched()
    {
        using var folderScratch = new TempFolder("parallelflow-journal-");
        var folder = folderScratch.Path;
        var journal = Path.Combine(folder, "journal.db");
        File.WriteAllText(journal, "this is not a database, and it must survive");

        var (exitCode, _, error) = await CliProcess.RunAsync("run", "examples/release-check.json", "--journal", journal, "--quiet");

        Assert.Equal(2, exitCode);
        Assert.Contains("this file is not a ParallelFlow journal, or it is damaged", error, StringComparison.Ordinal);
        Assert.Equal("this is not a database, and it must survive", File.ReadAllText(journal));
    }

    private static string WritePlan(string folder)
    {
        var plan = Path.Combine(folder, "chain.json");
        static string Task(string id, string? after, string folder) => $$"""
            { "id": "{{id}}", "worker": "process", {{(after is null ? string.Empty : $"\"depends_on\": [\"{after}\"], ")}}"with": { "command": "sh", "args": ["-c", "echo {{id}} >> executions.txt; while [ -f hold.{{id}} ]; do sleep 0.05; done; echo {{id}} done"], "cwd": "{{folder}}" } }
            """;
        File.WriteAllText(plan, $$"""
            { "tasks": [
              {{Task("first", null, folder)}},
              {{Task("second", "first", folder)}},
              {{Task("third", "second", folder)}} ] }
            """);
        return plan;
    }

    /// <summary>Two branches of two tasks from one task, joined by a last one; <paramref name="middle"/> is what the
    /// first task of branch b prints.</summary>
    private static string WriteBranches(string folder, string middle)
    {
        var plan = Path.Combine(folder, "branches.json");
        string Task(string id, string[] dependsOn, string print) => $$"""
            { "id": "{{id}}", "worker": "process", "depends_on": [{{string.Join(", ", dependsOn.Select(d => $"\"{d}\""))}}], "with": { "command": "sh", "args": ["-c", "echo {{id}} >> executions.txt; echo {{print}}"], "cwd": "{{folder}}" } }
            """;
        File.WriteAllText(plan, $$"""
            { "tasks": [
              {{Task("start", [], "start")}},
              {{Task("a1", ["start"], "a1")}},
              {{Task("a2", ["a1"], "a2")}},
              {{Task("b1", ["start"], middle)}},
              {{Task("b2", ["b1"], "b2")}},
              {{Task("join", ["a2", "b2"], "join")}} ] }
            """);
        return plan;
    }

    private static List<string> Executions(string folder)
    {
        var file = Path.Combine(folder, "executions.txt");
        return File.Exists(file) ? [.. File.ReadAllLines(file).Where(l => l.Length > 0)] : [];
    }

    /// <summary>How many tasks the journal holds as succeeded, across its runs (each of these tests records one run).</summary>
    private static long Succeeded(string journal)
    {
        if (!File.Exists(journal))
        {
            return 0;
        }

        try
        {
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={journal};Mode=ReadOnly;Pooling=False;Default Timeout=2");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM tasks WHERE status = 'succeeded';";
            return (long)command.ExecuteScalar()!;
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return -1; // Not made yet, or busy for a moment: asked again on the next poll.
        }
    }

    /// <summary>Starts a command and kills it hard (as a crash would) once the condition holds.</summary>
    private static async Task KillWhenAsync(string[] args, Func<bool> condition)
    {
        using var process = CliProcess.Start(args);
        await WaitForAsync(condition);
        process.KillHard();
        await process.WaitForExitAsync();
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!condition())
        {
            await Task.Delay(50, timeout.Token);
        }
    }
}

/// <summary>The result cache through the command: a second run is served from the journal, <c>--no-cache</c> executes, <c>cache why</c> explains.</summary>
public sealed class CacheCommandTests
{
    [Fact]
    public async Task Deterministic_tasks_are_cached_across_runs_and_a_miss_is_explained()
    {
        using var folderScratch = new TempFolder("parallelflow-cache-");
        var folder = folderScratch.Path;
        var plan = Path.Combine(folder, "plan.json");
        var journal = Path.Combine(folder, "journal.db");
        File.WriteAllText(plan, """
            { "tasks": [
              { "id": "a", "worker": "template", "with": { "text": "alpha" } },
              { "id": "b", "worker": "template", "depends_on": ["a"], "with": { "text": "{{a}} beta" } },
              { "id": "s", "worker": "simulate", "with": { "seconds": 0 } } ] }
            """);

        var (_, first, _) = await CliProcess.RunAsync("run", plan, "--journal", journal);
        var (_, second, _) = await CliProcess.RunAsync("run", plan, "--journal", journal);
        var (_, uncached, _) = await CliProcess.RunAsync("run", plan, "--journal", journal, "--no-cache");
        File.WriteAllText(plan, File.ReadAllText(plan).Replace("\"alpha\"", "\"ALPHA\"", StringComparison.Ordinal));
        var (_, changed, _) = await CliProcess.RunAsync("run", plan, "--journal", journal);
        var (_, runs, _) = await CliProcess.RunAsync("runs", "--journal", journal);
        var latest = runs.Split('\n')[1].Split(' ')[0];
        var (exitCode, why, error) = await CliProcess.RunAsync("cache", "why", latest, "b", "--journal", journal);

        Assert.Contains("  a  succeeded", first, StringComparison.Ordinal);
        Assert.Contains("  a  cached ", second, StringComparison.Ordinal);
        Assert.Contains("  b  cached ", second, StringComparison.Ordinal);
        Assert.Contains("  s  succeeded", second, StringComparison.Ordinal);
        Assert.Contains("  a  succeeded", uncached, StringComparison.Ordinal);
        Assert.Contains("  b  succeeded", changed, StringComparison.Ordinal);
        Assert.True(exitCode == 0, error);
        Assert.Contains("b missed the cache", why, StringComparison.Ordinal);
        Assert.Contains("input 'a': its output changed", why, StringComparison.Ordinal);
    }
}

public sealed class LockedJournalTests
{
    [Fact]
    public async Task A_journal_locked_by_another_process_past_the_wait_is_a_clear_error_and_nothing_runs()
    {
        using var folderScratch = new TempFolder("parallelflow-locked-");
        var folder = folderScratch.Path;
        var journal = Path.Combine(folder, "journal.db");
        var marker = Path.Combine(folder, "ran");
        var plan = Path.Combine(folder, "plan.json");
        File.WriteAllText(plan, $$"""{ "tasks": [ { "id": "touch", "worker": "process", "with": { "command": "touch", "args": ["{{marker}}"] } } ] }""");
        ParallelFlow.Journal.RunJournal.Open(journal).Dispose();

        // Another writer holds the journal, as `sqlite3 journal.db 'BEGIN IMMEDIATE'` would, for longer than the wait.
        using (var holder = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={journal};Pooling=False"))
        {
            holder.Open();
            using (var begin = holder.CreateCommand())
            {
                begin.CommandText = "BEGIN IMMEDIATE;";
                begin.ExecuteNonQuery();
            }

            var (exitCode, output, error) = await CliProcess.RunAsync("run", plan, "--journal", journal);

            Assert.Equal(2, exitCode);
            Assert.Contains($"{journal}: the journal is locked by another process", error, StringComparison.Ordinal);
            Assert.Contains("nothing was run", error, StringComparison.Ordinal);
            Assert.DoesNotContain("bug", error + output, StringComparison.Ordinal);
        }

        Assert.False(File.Exists(marker), "the task ran although the journal could not record it");
        var (_, runs, _) = await CliProcess.RunAsync("runs", "--journal", journal);
        Assert.Contains("no runs yet", runs, StringComparison.Ordinal);
    }
}
