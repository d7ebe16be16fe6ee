using System.Text.Json;
using Microsoft.Data.Sqlite;

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
    public void A_schema_3_journal_is_migrated_in_place_and_keeps_its_runs()
    {
        using (var journal = RunJournal.Open(JournalPath))
        {
            journal.BeginRun("old-run", "plan", "plan.json", "h", null, null, null, DateTimeOffset.UtcNow);
        }

        // What this version's schema 3 looked like: no inputs column, nor what schemas 5 to 7 added.
        using (var connection = new SqliteConnection($"Data Source={JournalPath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "ALTER TABLE runs DROP COLUMN inputs; ALTER TABLE runs DROP COLUMN report; ALTER TABLE runs DROP COLUMN cache_off; ALTER TABLE runs DROP COLUMN only_tasks; ALTER TABLE runs DROP COLUMN host_name; ALTER TABLE runs DROP COLUMN heartbeat_at; ALTER TABLE runs DROP COLUMN fingerprints; UPDATE meta SET value = '3' WHERE key = 'schema_version';";
            command.ExecuteNonQuery();
        }

        using (var migrated = RunJournal.Open(JournalPath))
        {
            Assert.Empty(Assert.Single(migrated.Runs()).Inputs);
            migrated.BeginRun("new-run", "plan", "plan.json", "h", null, null, null, DateTimeOffset.UtcNow,
                new Dictionary<string, JsonElement> { ["n"] = JsonSerializer.SerializeToElement(3) });
            Assert.Equal(3, migrated.Run("new-run")!.Inputs["n"].GetInt32());

            // Schema 7: task fingerprints, none for a run recorded before.
            Assert.Null(migrated.Fingerprints("old-run"));
            migrated.BeginRun("new-run", "plan", "plan.json", "h", null, null, null, DateTimeOffset.UtcNow,
                fingerprints: new Dictionary<string, string> { ["a"] = """{"worker":"template","with":{"text":"a >> b"}}""" });
            Assert.Equal("""{"worker":"template","with":{"text":"a >> b"}}""", migrated.Fingerprints("new-run")!["a"]);

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
            command.CommandText = "UPDATE meta SET value = '8' WHERE key = 'schema_version';";
            command.ExecuteNonQuery();
        }

        var error = Assert.Throws<JournalException>(() => RunJournal.Open(JournalPath));

        Assert.Contains("written by a newer ParallelFlow (schema 8; this version reads 7)", error.Message);
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
}
