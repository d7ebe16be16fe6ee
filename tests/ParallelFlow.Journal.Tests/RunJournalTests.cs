using System.Text.Json;
using Microsoft.Data.Sqlite;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Sdk;

namespace ParallelFlow.Journal.Tests;

public sealed class RunJournalTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("parallelflow-journal-").FullName;

    private string JournalPath => Path.Combine(_folder, "journal.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_run_round_trips_through_the_journal_and_resumes_from_it()
    {
        var engine = new ParallelFlowEngine();
        var plan = new PlanBuilder("journaled")
            .AddTask("a", "template", t => t.With(new { text = "alpha" }))
            .AddTask("b", "template", t => t.DependsOn("a").With(new { text = "{{a}} and beta" }))
            .AddTask("c", "simulate", t => t.DependsOn("b").With(new { seconds = 0, fail = "fatal" }))
            .Build();
        var compiled = engine.Compile(plan);

        using (var journal = RunJournal.Open(JournalPath))
        {
            journal.BeginRun("run-1", plan.Id, "plan.json", "hash", null, null, 2, DateTimeOffset.UtcNow);
            var result = await compiled.RunAsync(new RunOptions { RunId = "run-1", Journal = journal });
            journal.FinishRun(result);
        }

        using (var journal = RunJournal.Open(JournalPath, create: false))
        {
            var run = journal.Run("run-1")!;
            Assert.Equal(("journaled", "failed", 0), (run.PlanId, run.Status, run.Resumes));
            Assert.Equal(2, run.Counts["succeeded"]);
            Assert.Equal(1, run.Counts["failed"]);
            var tasks = journal.Tasks("run-1").ToDictionary(t => t.TaskId);
            Assert.Equal("alpha and beta", tasks["b"].Result!.Text);
            Assert.Equal((1, "failed"), (tasks["c"].Attempts, tasks["c"].Status));
            Assert.NotNull(tasks["c"].Error);

            // The finished run's own report is kept, with the command that resumes it among its next steps.
            var (report, complete) = journal.Report("run-1")!.Value;
            using (report)
            {
                Assert.True(complete);
                Assert.Equal(3, report.RootElement.GetProperty("results").GetArrayLength());
                var steps = report.RootElement.GetProperty("next_steps").EnumerateArray().Select(s => s.GetString()).ToList();
                Assert.Contains(steps, s => s!.Contains($"parallelflow resume run-1 --journal {journal.Path}", StringComparison.Ordinal) && s.Contains("'c'", StringComparison.Ordinal));
            }

            // Resume: a and b keep their outputs and do not run; c runs again.
            var restored = journal.Succeeded("run-1");
            Assert.Equal(["a", "b"], restored.Keys.Order());
            journal.BeginRun("run-1", plan.Id, "plan.json", "hash", null, null, 2, run.StartedAt);
            var resumed = await compiled.RunAsync(new RunOptions { RunId = "run-1", Journal = journal, Restored = restored });
            journal.FinishRun(resumed);
            Assert.Equal((0, 0, 1), (resumed["a"].Attempts, resumed["b"].Attempts, resumed["c"].Attempts));
            Assert.Equal("alpha and beta", resumed["b"].Result!.Text);
            Assert.Equal(1, journal.Run("run-1")!.Resumes);
            Assert.Equal(1, journal.Tasks("run-1").Single(t => t.TaskId == "a").Attempts);
        }
    }

    [Fact]
    public void A_schema_3_journal_is_migrated_in_place_and_keeps_its_runs()
    {
        using (var journal = RunJournal.Open(JournalPath))
        {
            journal.BeginRun("old-run", "plan", "plan.json", "h", null, null, null, DateTimeOffset.UtcNow);
        }

        // What this version's schema 3 looked like: no inputs column, nor what schema 5 added.
        using (var connection = new SqliteConnection($"Data Source={JournalPath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "ALTER TABLE runs DROP COLUMN inputs; ALTER TABLE runs DROP COLUMN report; ALTER TABLE runs DROP COLUMN cache_off; ALTER TABLE runs DROP COLUMN only_tasks; UPDATE meta SET value = '3' WHERE key = 'schema_version';";
            command.ExecuteNonQuery();
        }

        using (var migrated = RunJournal.Open(JournalPath))
        {
            Assert.Empty(Assert.Single(migrated.Runs()).Inputs);
            migrated.BeginRun("new-run", "plan", "plan.json", "h", null, null, null, DateTimeOffset.UtcNow,
                new Dictionary<string, JsonElement> { ["n"] = JsonSerializer.SerializeToElement(3) });
            Assert.Equal(3, migrated.Run("new-run")!.Inputs["n"].GetInt32());

            // Schema 5: a run that never finished has no report of its own; one is made from its rows.
            var (report, complete) = migrated.Report("old-run")!.Value;
            using (report)
            {
                Assert.False(complete);
                Assert.True(report.RootElement.GetProperty("partial").GetBoolean());
                Assert.Equal("old-run", report.RootElement.GetProperty("run_id").GetString());
            }
        }
    }

    [Fact]
    public void A_journal_from_a_newer_version_is_refused_with_its_schema()
    {
        RunJournal.Open(JournalPath).Dispose();
        using (var connection = new SqliteConnection($"Data Source={JournalPath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE meta SET value = '7' WHERE key = 'schema_version';";
            command.ExecuteNonQuery();
        }

        var error = Assert.Throws<JournalException>(() => RunJournal.Open(JournalPath));

        Assert.Contains("written by a newer ParallelFlow (schema 7; this version reads 5)", error.Message);
    }

    [Fact]
    public void A_damaged_journal_is_refused_and_left_as_it_is()
    {
        var bytes = new byte[8192];
        Random.Shared.NextBytes(bytes);
        File.WriteAllBytes(JournalPath, bytes);

        var error = Assert.Throws<JournalException>(() => RunJournal.Open(JournalPath));

        Assert.Contains("is not a ParallelFlow journal, or it is damaged", error.Message);
        Assert.Equal(bytes, File.ReadAllBytes(JournalPath));
    }

    [Fact]
    public void A_journal_locked_by_another_writer_is_reported_as_locked()
    {
        RunJournal.Open(JournalPath).Dispose();
        using var holder = new SqliteConnection($"Data Source={JournalPath};Pooling=False");
        holder.Open();
        using (var command = holder.CreateCommand())
        {
            command.CommandText = "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;";
            command.ExecuteNonQuery();
        }

        var error = Assert.Throws<JournalException>(() => RunJournal.OpenConnection($"Data Source={JournalPath};Pooling=False;Default Timeout=1"));

        Assert.Contains("the journal is locked by another process", error.Message);
        Assert.Contains(JournalPath, error.Message);
    }

    [Fact]
    public async Task Outputs_keep_their_json_and_usage()
    {
        using var journal = RunJournal.Open(JournalPath);
        journal.BeginRun("r", "p", "plan.json", "h", null, null, null, DateTimeOffset.UtcNow);
        await journal.RecordAsync([new JournalEntry("r", "t", 1, DateTimeOffset.UtcNow, null)]);
        await journal.RecordAsync([new JournalEntry("r", "t", 1, DateTimeOffset.UtcNow, new TaskRunResult
        {
            TaskId = "t",
            WorkerType = "llm",
            Status = TaskRunStatus.Succeeded,
            Attempts = 1,
            Duration = TimeSpan.FromSeconds(2),
            Result = new TaskResult { Json = JsonDocument.Parse("""{"x":[1,2]}""").RootElement, Usage = new TaskUsage(10, 20, 0.5m) },
        })]);

        var result = journal.Succeeded("r")["t"];

        Assert.Equal("""{"x":[1,2]}""", result.Json!.Value.GetRawText());
        Assert.Equal(new TaskUsage(10, 20, 0.5m), result.Usage);
        Assert.Equal("running", journal.Run("r")!.Status);
    }
}
