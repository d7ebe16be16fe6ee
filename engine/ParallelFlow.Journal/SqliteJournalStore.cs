using System.Globalization;
using Microsoft.Data.Sqlite;
using ParallelFlow.Engine.Execution;
using SQLitePCL;

namespace ParallelFlow.Journal;

/// <summary>A journal in an embedded SQLite database: one connection in WAL mode, used by one caller at a time.</summary>
internal sealed class SqliteJournalStore : JournalStore
{
    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();
    private JournalStatements? _statements;

    private SqliteJournalStore(string path, SqliteConnection connection)
    {
        Location = path;
        _connection = connection;
    }

    public override string Location { get; }

    public override string WriteOrder => "rowid";

    /// <summary>Opens the database a connection string names, set up for the journal (WAL, busy timeout).</summary>
    public static SqliteJournalStore Connect(string connectionString)
    {
        var path = new SqliteConnectionStringBuilder(connectionString).DataSource;
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            // Wait for another writer as long as the connection string's timeout says (10 s by default here).
            Execute(connection, $"PRAGMA busy_timeout = {connection.DefaultTimeout * 1000};");
            Execute(connection, "PRAGMA journal_mode = WAL;");
            Execute(connection, "PRAGMA synchronous = NORMAL;");
            // Checkpoints (which sync) every 40 MB of log rather than every 4 MB, and the log file is cut back after one.
            Execute(connection, "PRAGMA wal_autocheckpoint = 10000;");
            Execute(connection, "PRAGMA journal_size_limit = 67108864;");
            return new SqliteJournalStore(path, connection);
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw Explain(path, ex);
        }
    }

    /// <summary>The connection string of a journal file: no pool (the journal holds its one connection), a 10 s wait for another writer.</summary>
    public static string FileConnectionString(string path) => new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 10 }.ToString();

    public override JournalSession Open()
    {
        _gate.Enter();
        return new Session(_connection, _gate);
    }

    public override void WriteTasks(JournalSession session, IReadOnlyList<TaskWrite> writes)
    {
        var statements = _statements ??= new JournalStatements(_connection.Handle!);
        foreach (var write in writes)
        {
            if (write.Finished is { } task)
            {
                statements.FinishTask(write.RunId, task, write.Components, write.KeepRecorded);
            }
            else
            {
                statements.StartAttempt(write.RunId, write.TaskId, write.Attempt, write.At!, write.MarkRunning);
            }
        }
    }

    public override JournalException? Explain(Exception error) => error is SqliteException sqlite ? Explain(Location, sqlite) : null;

    public override void Migrate(bool create)
    {
        using var session = Open();
        try
        {
            Execute(_connection, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);");
            var version = session.Scalar("SELECT value FROM meta WHERE key = 'schema_version';") is string found ? int.Parse(found, CultureInfo.InvariantCulture) : 0;
            if (version > RunJournal.SchemaVersion)
            {
                throw RunJournal.Newer(Location, version);
            }

            // Each step moves one version up inside one transaction: a crash leaves the journal at the last whole step.
            for (var step = version; step < RunJournal.SchemaVersion; step++)
            {
                using var transaction = _connection.BeginTransaction();
                using var migrate = _connection.CreateCommand();
                migrate.Transaction = transaction;
                migrate.CommandText = Steps[step] + $"INSERT INTO meta (key, value) VALUES ('schema_version', '{step + 1}') ON CONFLICT (key) DO UPDATE SET value = '{step + 1}';";
                migrate.ExecuteNonQuery();
                transaction.Commit();
            }
        }
        catch (SqliteException ex)
        {
            throw Explain(Location, ex);
        }
    }

    public override void Dispose()
    {
        lock (_gate)
        {
            _statements?.Dispose();
            _statements = null;
            _connection.Dispose();
        }
    }

    private static readonly string[] Steps =
    [
        """
        CREATE TABLE runs (
          run_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL, plan_path TEXT NOT NULL, plan_hash TEXT NOT NULL,
          config_path TEXT, plugins_path TEXT, workers INTEGER, started_at TEXT NOT NULL, finished_at TEXT,
          status TEXT NOT NULL, host_pid INTEGER NOT NULL, resumes INTEGER NOT NULL);
        CREATE TABLE tasks (
          run_id TEXT NOT NULL REFERENCES runs (run_id), task_id TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
          finished_at TEXT, duration_seconds REAL NOT NULL DEFAULT 0, output_text TEXT, output_json TEXT,
          input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0, cost NUMERIC NOT NULL DEFAULT 0, error TEXT,
          PRIMARY KEY (run_id, task_id));
        CREATE TABLE attempts (
          run_id TEXT NOT NULL, task_id TEXT NOT NULL, attempt INTEGER NOT NULL, started_at TEXT NOT NULL);
        CREATE INDEX attempts_by_task ON attempts (run_id, task_id);
        """,
        """
        ALTER TABLE tasks ADD COLUMN cache_key TEXT;
        ALTER TABLE tasks ADD COLUMN cache_components TEXT;
        CREATE TABLE cache (
          key TEXT PRIMARY KEY, worker TEXT NOT NULL, components TEXT NOT NULL,
          output_text TEXT, output_json TEXT, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost NUMERIC NOT NULL,
          created_at TEXT NOT NULL, run_id TEXT NOT NULL, task_id TEXT NOT NULL);
        CREATE INDEX cache_by_worker ON cache (worker);
        """,
        // Nothing reads attempts by task, and keeping the index cost a quarter of every recorded task.
        """
        DROP INDEX IF EXISTS attempts_by_task;
        """,
        // The values of the plan's inputs a run had, as a JSON object, so that resume runs with them again.
        """
        ALTER TABLE runs ADD COLUMN inputs TEXT;
        """,
        // The finished run's report (JSON), so that 'show' draws its timeline and HTML page as the run wrote them.
        """
        ALTER TABLE runs ADD COLUMN report TEXT;
        ALTER TABLE runs ADD COLUMN cache_off INTEGER;
        ALTER TABLE runs ADD COLUMN only_tasks TEXT;
        """,
        // The machine that runs a run, and when it last said so: a journal shared between machines tells a run whose
        // coordinator died from one that goes on elsewhere.
        """
        ALTER TABLE runs ADD COLUMN host_name TEXT;
        ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
        """,
        // Each task's fingerprint, as one JSON object: a resume after an edit runs again the tasks whose definition changed.
        """
        ALTER TABLE runs ADD COLUMN fingerprints TEXT;
        """,
    ];

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static JournalException Explain(string path, SqliteException ex) => ex.SqliteErrorCode switch
    {
        5 or 6 => new JournalException($"{path}: the journal is locked by another process (SQLite: {ex.Message}); wait for it to finish, or pass --journal with another file", ex),
        11 or 26 => new JournalException($"{path}: this file is not a ParallelFlow journal, or it is damaged (SQLite: {ex.Message}); move it away to start a new journal — nothing was changed", ex),
        _ => new JournalException($"{path}: the journal failed: {ex.Message}", ex),
    };

    /// <summary>The one connection, held under the store's lock until disposed.</summary>
    private sealed class Session(SqliteConnection connection, Lock gate) : JournalSession(connection, owned: false)
    {
        public override void Dispose()
        {
            try
            {
                base.Dispose();
            }
            finally
            {
                gate.Exit();
            }
        }
    }
}

/// <summary>The journal's hot statements, prepared once on the connection's SQLite handle and bound by position. Used
/// under the journal's lock, inside its transaction.</summary>
internal sealed class JournalStatements : IDisposable
{
    private const string InsertAttemptSql = "INSERT INTO attempts (run_id, task_id, attempt, started_at) VALUES (?1, ?2, ?3, ?4);";

    private const string MarkRunningSql = """
        INSERT INTO tasks (run_id, task_id, status, attempts) VALUES (?1, ?2, 'running', ?3)
        ON CONFLICT (run_id, task_id) DO UPDATE SET status = 'running', attempts = ?3;
        """;

    private const string FinishTaskSql = """
        INSERT INTO tasks (run_id, task_id, status, attempts, finished_at, duration_seconds, output_text, output_json, input_tokens, output_tokens, cost, error, cache_key, cache_components)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
        ON CONFLICT (run_id, task_id) DO UPDATE SET status = ?3, attempts = MAX(attempts, ?4), finished_at = ?5,
          duration_seconds = ?6, output_text = ?7, output_json = ?8, input_tokens = ?9, output_tokens = ?10, cost = ?11, error = ?12,
          cache_key = ?13, cache_components = ?14;
        """;

    // A restored task's recorded output stands: its row is written only when there is none.
    private const string KeepRecordedTaskSql = """
        INSERT INTO tasks (run_id, task_id, status, attempts, finished_at, duration_seconds, output_text, output_json, input_tokens, output_tokens, cost, error, cache_key, cache_components)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
        ON CONFLICT (run_id, task_id) DO NOTHING;
        """;

    private readonly sqlite3_stmt _insertAttempt;
    private readonly sqlite3_stmt _markRunning;
    private readonly sqlite3_stmt _finishTask;
    private readonly sqlite3_stmt _keepRecordedTask;

    public JournalStatements(sqlite3 database)
    {
        var prepared = new List<sqlite3_stmt>();
        try
        {
            prepared.Add(_insertAttempt = Prepare(database, InsertAttemptSql));
            prepared.Add(_markRunning = Prepare(database, MarkRunningSql));
            prepared.Add(_finishTask = Prepare(database, FinishTaskSql));
            prepared.Add(_keepRecordedTask = Prepare(database, KeepRecordedTaskSql));
        }
        catch
        {
            // None is left open on the connection when a later one cannot be prepared.
            prepared.ForEach(statement => statement.Dispose());
            throw;
        }
    }

    public void StartAttempt(string runId, string taskId, int attempt, string at, bool markRunning)
    {
        Text(_insertAttempt, 1, runId);
        Text(_insertAttempt, 2, taskId);
        raw.sqlite3_bind_int(_insertAttempt, 3, attempt);
        Text(_insertAttempt, 4, at);
        Run(_insertAttempt);
        if (markRunning)
        {
            Text(_markRunning, 1, runId);
            Text(_markRunning, 2, taskId);
            raw.sqlite3_bind_int(_markRunning, 3, attempt);
            Run(_markRunning);
        }
    }

    public void FinishTask(string runId, TaskRunResult task, string? cacheComponents, bool keepRecorded)
    {
        var result = RunJournal.Kept(task);
        var s = keepRecorded ? _keepRecordedTask : _finishTask;
        Text(s, 1, runId);
        Text(s, 2, task.TaskId);
        Text(s, 3, task.Status.ToName());
        raw.sqlite3_bind_int(s, 4, task.Attempts);
        Text(s, 5, task.FinishedAt is { } finished ? RunJournal.Time(finished) : null);
        raw.sqlite3_bind_double(s, 6, task.Duration.TotalSeconds);
        Text(s, 7, result?.Text);
        Text(s, 8, result?.Json?.GetRawText());
        raw.sqlite3_bind_int64(s, 9, result?.Usage.InputTokens ?? 0);
        raw.sqlite3_bind_int64(s, 10, result?.Usage.OutputTokens ?? 0);
        // As the ADO.NET provider stores a decimal: its invariant text, which the NUMERIC column keeps exact.
        Text(s, 11, (result?.Usage.Cost ?? 0m).ToString(CultureInfo.InvariantCulture));
        Text(s, 12, task.Error);
        Text(s, 13, task.CacheKey?.Hash);
        Text(s, 14, cacheComponents);
        Run(s);
    }

    public void Dispose()
    {
        _insertAttempt.Dispose();
        _markRunning.Dispose();
        _finishTask.Dispose();
        _keepRecordedTask.Dispose();
    }

    private static sqlite3_stmt Prepare(sqlite3 database, string sql)
    {
        var code = raw.sqlite3_prepare_v2(database, sql, out var statement);
        return code == raw.SQLITE_OK ? statement : throw new SqliteException(raw.sqlite3_errmsg(database).utf8_to_string(), code);
    }

    private static void Text(sqlite3_stmt statement, int index, string? value)
    {
        if (value is null)
        {
            raw.sqlite3_bind_null(statement, index);
        }
        else
        {
            raw.sqlite3_bind_text(statement, index, value);
        }
    }

    private static void Run(sqlite3_stmt statement)
    {
        var code = raw.sqlite3_step(statement);
        raw.sqlite3_reset(statement);
        if (code != raw.SQLITE_DONE)
        {
            var database = raw.sqlite3_db_handle(statement);
            throw new SqliteException(raw.sqlite3_errmsg(database).utf8_to_string(), code, raw.sqlite3_extended_errcode(database));
        }
    }
}
