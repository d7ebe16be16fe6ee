using System.Globalization;
using Microsoft.Data.Sqlite;
using ParallelFlow.Engine.Execution;
using SQLitePCL;

namespace ParallelFlow.Journal;

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
        var result = task.Status.IsSuccess() ? task.Result : null;
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
