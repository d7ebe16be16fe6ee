using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Postgres;

namespace ParallelFlow.Journal;

/// <summary>
/// A journal in a PostgreSQL database, shared by every machine that reaches it, so that a run whose coordinator died
/// resumes on another one. The same tables and meanings as the SQLite journal; each operation takes a pooled connection,
/// so runs of several processes and machines write side by side, and a server restart costs only the operations in flight.
/// </summary>
internal sealed class PostgresJournalStore : JournalStore
{
    // Taken for the length of a migration, so that processes opening a new database at once create its tables once.
    private const long MigrationLock = 0x50_46_4A_6F_75_72_6E;

    private const string InsertAttemptSql = "INSERT INTO attempts (run_id, task_id, attempt, started_at) VALUES ($1, $2, $3, $4)";

    private const string MarkRunningSql = """
        INSERT INTO tasks (run_id, task_id, status, attempts) VALUES ($1, $2, 'running', $3)
        ON CONFLICT (run_id, task_id) DO UPDATE SET status = 'running', attempts = $3
        """;

    private const string FinishTaskSql = """
        INSERT INTO tasks (run_id, task_id, status, attempts, finished_at, duration_seconds, output_text, output_json, input_tokens, output_tokens, cost, error, cache_key, cache_components)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        ON CONFLICT (run_id, task_id) DO UPDATE SET status = $3, attempts = GREATEST(tasks.attempts, $4), finished_at = $5,
          duration_seconds = $6, output_text = $7, output_json = $8, input_tokens = $9, output_tokens = $10, cost = $11, error = $12,
          cache_key = $13, cache_components = $14
        """;

    private const string KeepRecordedTaskSql = """
        INSERT INTO tasks (run_id, task_id, status, attempts, finished_at, duration_seconds, output_text, output_json, input_tokens, output_tokens, cost, error, cache_key, cache_components)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        ON CONFLICT (run_id, task_id) DO NOTHING
        """;

    // The current schema as one step for a new database; an older one is brought up by the steps of Upgrades.
    private const string CreateSql = """
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE runs (
          run_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL, plan_path TEXT NOT NULL, plan_hash TEXT NOT NULL,
          config_path TEXT, plugins_path TEXT, workers INTEGER, started_at TEXT NOT NULL, finished_at TEXT,
          status TEXT NOT NULL, host_pid INTEGER NOT NULL, resumes INTEGER NOT NULL,
          inputs TEXT, report TEXT, cache_off INTEGER, only_tasks TEXT, host_name TEXT, heartbeat_at TEXT, fingerprints TEXT);
        CREATE TABLE tasks (
          seq BIGINT GENERATED ALWAYS AS IDENTITY,
          run_id TEXT NOT NULL REFERENCES runs (run_id), task_id TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
          finished_at TEXT, duration_seconds DOUBLE PRECISION NOT NULL DEFAULT 0, output_text TEXT, output_json TEXT,
          input_tokens BIGINT NOT NULL DEFAULT 0, output_tokens BIGINT NOT NULL DEFAULT 0, cost NUMERIC NOT NULL DEFAULT 0, error TEXT,
          cache_key TEXT, cache_components TEXT,
          PRIMARY KEY (run_id, task_id));
        CREATE TABLE attempts (
          seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          run_id TEXT NOT NULL, task_id TEXT NOT NULL, attempt INTEGER NOT NULL, started_at TEXT NOT NULL);
        CREATE INDEX attempts_by_run ON attempts (run_id);
        CREATE TABLE cache (
          key TEXT PRIMARY KEY, worker TEXT NOT NULL, components TEXT NOT NULL,
          output_text TEXT, output_json TEXT, input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL, cost NUMERIC NOT NULL,
          created_at TEXT NOT NULL, run_id TEXT NOT NULL, task_id TEXT NOT NULL);
        CREATE INDEX cache_by_worker ON cache (worker);
        """;

    // From each version to the next, from 6 (the first PostgreSQL journal) on: Upgrades[v - 6] moves v to v + 1.
    private static readonly string[] Upgrades =
    [
        "ALTER TABLE runs ADD COLUMN fingerprints TEXT;",
    ];

    private readonly NpgsqlDataSource _dataSource;

    private PostgresJournalStore(string location, NpgsqlDataSource dataSource)
    {
        Location = location;
        _dataSource = dataSource;
    }

    public override string Location { get; }

    public override string WriteOrder => "seq";

    /// <summary>Whether a journal location names a PostgreSQL database: a connection string (<c>Host=…;Database=…</c>,
    /// misspelt ones included, so that they are refused rather than taken for a file) or a <c>postgresql://</c> URL.</summary>
    public static bool Names(string location) => PostgresConnectionText.Names(location);

    /// <summary>Prepares a pool of connections to the database; nothing is sent until the first operation.</summary>
    public static PostgresJournalStore Connect(string location)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(PostgresConnectionText.Normalize(location));
        }
        catch (FormatException ex)
        {
            throw new JournalException(ex.Message.Replace("the PostgreSQL connection string", "the journal's PostgreSQL connection string", StringComparison.Ordinal), ex);
        }

        // The hot path's four statements are prepared once per pooled connection.
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 16;
        }

        builder.ApplicationName ??= "parallelflow";
        return new PostgresJournalStore(PostgresConnectionText.Shown(builder.ConnectionString), NpgsqlDataSource.Create(builder));
    }

    public override JournalSession Open()
    {
        try
        {
            return new JournalSession(_dataSource.OpenConnection(), owned: true);
        }
        catch (Exception ex) when (Explain(ex) is { } explained)
        {
            throw explained;
        }
    }

    public override void Migrate(bool create)
    {
        using var session = Open();
        session.Begin();
        session.Execute($"SELECT pg_advisory_xact_lock({MigrationLock});");
        var version = session.Scalar("SELECT to_regclass('meta') IS NOT NULL;") is true
            && session.Scalar("SELECT value FROM meta WHERE key = 'schema_version';") is string found
                ? int.Parse(found, CultureInfo.InvariantCulture)
                : 0;
        if (version > RunJournal.SchemaVersion)
        {
            throw RunJournal.Newer(Location, version);
        }

        if (version == 0 && !create)
        {
            throw new JournalException($"{Location}: this database holds no ParallelFlow journal yet; a run creates one");
        }

        if (version == 0)
        {
            session.Execute(CreateSql + $"INSERT INTO meta (key, value) VALUES ('schema_version', '{RunJournal.SchemaVersion}');");
        }
        else
        {
            for (var step = version; step < RunJournal.SchemaVersion; step++)
            {
                session.Execute(Upgrades[step - 6] + $"UPDATE meta SET value = '{step + 1}' WHERE key = 'schema_version';");
            }
        }

        session.Commit();
    }

    public override void WriteTasks(JournalSession session, IReadOnlyList<TaskWrite> writes)
    {
        using var batch = Batch(session, writes);
        batch.ExecuteNonQuery();
    }

    public override async ValueTask WriteTasksAsync(JournalSession session, IReadOnlyList<TaskWrite> writes, CancellationToken cancellationToken)
    {
        await using var batch = Batch(session, writes);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public override JournalException? Explain(Exception error) =>
        error is JournalException || PostgresConnectionText.Explain(error) is not { } meaning ? null : new JournalException($"{Location}: {meaning}", error);

    public override string? Text(string? value) => value is not null && value.Contains('\0', StringComparison.Ordinal) ? value.Replace('\0', '\uFFFD') : value;

    public override void Dispose() => _dataSource.Dispose();

    private static NpgsqlBatch Batch(JournalSession session, IReadOnlyList<TaskWrite> writes)
    {
        var batch = new NpgsqlBatch((NpgsqlConnection)session.Connection, (NpgsqlTransaction?)session.Transaction);
        foreach (var write in writes)
        {
            if (write.Finished is { } task)
            {
                var result = RunJournal.Kept(task);
                batch.BatchCommands.Add(Command(
                    write.KeepRecorded ? KeepRecordedTaskSql : FinishTaskSql,
                    TextParameter(write.RunId), TextParameter(task.TaskId), TextParameter(task.Status.ToName()), new NpgsqlParameter<int>() { TypedValue = task.Attempts },
                    TextParameter(task.FinishedAt is { } finished ? RunJournal.Time(finished) : null), new NpgsqlParameter<double>() { TypedValue = task.Duration.TotalSeconds },
                    TextParameter(result?.Text), TextParameter(result?.Json?.GetRawText()),
                    new NpgsqlParameter<long>() { TypedValue = result?.Usage.InputTokens ?? 0 }, new NpgsqlParameter<long>() { TypedValue = result?.Usage.OutputTokens ?? 0 },
                    new NpgsqlParameter<decimal>() { TypedValue = result?.Usage.Cost ?? 0m },
                    TextParameter(task.Error), TextParameter(task.CacheKey?.Hash), TextParameter(write.Components)));
            }
            else
            {
                batch.BatchCommands.Add(Command(InsertAttemptSql, TextParameter(write.RunId), TextParameter(write.TaskId), new NpgsqlParameter<int>() { TypedValue = write.Attempt }, TextParameter(write.At)));
                if (write.MarkRunning)
                {
                    batch.BatchCommands.Add(Command(MarkRunningSql, TextParameter(write.RunId), TextParameter(write.TaskId), new NpgsqlParameter<int>() { TypedValue = write.Attempt }));
                }
            }
        }

        return batch;
    }

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    /// <summary>A text parameter. PostgreSQL's text cannot hold U+0000, which a process's output may: it is kept as U+FFFD.</summary>
    private static NpgsqlParameter TextParameter(string? value) => new()
    {
        NpgsqlDbType = NpgsqlDbType.Text,
        Value = value is null ? DBNull.Value : value.Contains('\0', StringComparison.Ordinal) ? value.Replace('\0', '\uFFFD') : value,
    };
}
