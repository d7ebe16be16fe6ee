using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ParallelFlow.Engine.Diagnostics;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Reporting;
using ParallelFlow.Sdk;

namespace ParallelFlow.Journal;

/// <summary>A run as recorded: what was run, how, and how it ended (or that it never did).</summary>
public sealed record RunRecord(
    string RunId,
    string PlanId,
    string PlanPath,
    string PlanHash,
    string? ConfigPath,
    string? PluginsPath,
    int? Workers,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    string Status,
    int Resumes,
    IReadOnlyDictionary<string, int> Counts)
{
    /// <summary>The values the plan's inputs had (supplied, else defaults), by name; <c>resume</c> runs with them again.</summary>
    public IReadOnlyDictionary<string, JsonElement> Inputs { get; init; } = new Dictionary<string, JsonElement>();

    /// <summary>The tasks the run was cut down to (<c>run --only</c>), with what they depend on; empty for the whole
    /// plan. <c>resume</c> cuts the plan the same way.</summary>
    public IReadOnlyList<string> Only { get; init; } = [];
}

/// <summary>One task of a recorded run.</summary>
public sealed record TaskRecord(string TaskId, string Status, int Attempts, DateTimeOffset? FinishedAt, double DurationSeconds, TaskResult? Result, string? Error);

/// <summary>A journal that cannot be used: damaged, locked, or written by a newer ParallelFlow. The message says which and what to do.</summary>
public sealed class JournalException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The run journal: every run, every attempt, every task as it ends with its output. In an embedded SQLite database
/// (WAL mode, one transaction per batch: <see cref="RecordAsync"/>, the engine's group commit), or in a PostgreSQL
/// database that several machines share, with the same tables and meanings, so that a run whose coordinator died
/// resumes on another machine. A process killed at any moment leaves a consistent journal. Safe to call from several
/// tasks at once.
/// </summary>
public sealed class RunJournal : IRunJournal, ITaskCache, IDisposable
{
    /// <summary>The schema this version reads and writes.</summary>
    public const int SchemaVersion = 7;

    /// <summary>How often a journal says that the runs it records are still going, for readers on other machines.</summary>
    internal static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(10);

    /// <summary>How long a run on another machine may be silent before it is taken for interrupted (six missed
    /// heartbeats, which also covers clocks a little apart).</summary>
    internal static readonly TimeSpan HeartbeatStale = TimeSpan.FromSeconds(60);

    private readonly JournalStore _store;
    private readonly HashSet<string> _live = new(StringComparer.Ordinal);
    private readonly Timer _heartbeat;

    private RunJournal(JournalStore store)
    {
        _store = store;
        _heartbeat = new Timer(static state => ((RunJournal)state!).Beat(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Where the journal is: its database file, or its PostgreSQL connection string without the password.
    /// <c>--journal</c> takes it back.</summary>
    public string Path => _store.Location;

    /// <summary>The environment variable that names one journal for every run, instead of one beside each plan.</summary>
    public const string PathVariable = "PARALLELFLOW_JOURNAL";

    /// <summary>The default journal of a plan: <c>$PARALLELFLOW_JOURNAL</c>, else <c>.parallelflow/journal.db</c> in the plan's folder.</summary>
    public static string DefaultPathFor(string planPath) =>
        Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } configured ? configured : System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(planPath))!, ".parallelflow", "journal.db");

    /// <summary>Whether a journal location names a PostgreSQL database (<c>Host=…;Database=…</c>, or a
    /// <c>postgresql://</c> URL) rather than a file.</summary>
    public static bool IsDatabase(string location) => PostgresJournalStore.Names(location ?? throw new ArgumentNullException(nameof(location)));

    /// <summary>Opens (creating when absent) the journal at <paramref name="path"/>: a SQLite file, or a PostgreSQL
    /// database when it is a connection string with a host (<c>Host=…;Database=…</c>) or a <c>postgresql://</c> URL.
    /// A database's password comes from <c>PGPASSWORD</c> or <c>~/.pgpass</c> when the string has none.</summary>
    /// <exception cref="JournalException">The file is not a journal, is damaged, is locked, or is newer than this
    /// version; the server cannot be reached or refuses the login.</exception>
    public static RunJournal Open(string path, bool create = true)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (PostgresJournalStore.Names(path))
        {
            return Migrated(PostgresJournalStore.Connect(path), create);
        }

        var full = System.IO.Path.GetFullPath(path);
        if (!create && !File.Exists(full))
        {
            throw new JournalException($"{full}: there is no journal here");
        }

        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new JournalException($"{full}: cannot create the journal's folder ({ex.Message}); pass --journal with a writable file, or --no-journal", ex);
        }

        return OpenConnection(SqliteJournalStore.FileConnectionString(full));
    }

    /// <summary>Opens a journal over a host's own connection string: SQLite's (its file, cache and pooling settings),
    /// or PostgreSQL's (<c>Host=…;Database=…</c>).</summary>
    /// <exception cref="JournalException">The database is not a journal, is damaged, is locked, cannot be reached, or is newer than this version.</exception>
    public static RunJournal OpenConnection(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        return Migrated(PostgresJournalStore.Names(connectionString) ? PostgresJournalStore.Connect(connectionString) : SqliteJournalStore.Connect(connectionString), create: true);
    }

    private static RunJournal Migrated(JournalStore store, bool create)
    {
        try
        {
            store.Migrate(create);
            return new RunJournal(store);
        }
        catch (Exception ex)
        {
            store.Dispose();
            if (ex is not JournalException && store.Explain(ex) is { } explained)
            {
                throw explained;
            }

            throw;
        }
    }

    internal static JournalException Newer(string location, int version) =>
        new($"{location}: this journal was written by a newer ParallelFlow (schema {version}; this version reads {SchemaVersion}). Use that version, or pass --journal with another file.");

    /// <summary>What <c>resume</c> compares to tell a changed plan: a SHA-256 of the plan file's bytes, then the config
    /// file's when there is one, as lowercase hex.</summary>
    /// <param name="planPath">The plan file.</param>
    /// <param name="configPath">Its config file, if any.</param>
    /// <returns>The hash.</returns>
    public static string HashPlan(string planPath, string? configPath)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        sha.AppendData(File.ReadAllBytes(planPath));
        if (configPath is not null)
        {
            sha.AppendData(File.ReadAllBytes(configPath));
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Records a run that starts, or one that resumes (its earlier record is kept, marked running again,
    /// with the inputs it first ran with).</summary>
    /// <param name="runId">The run's id.</param>
    /// <param name="planId">The plan's id.</param>
    /// <param name="planPath">The plan file.</param>
    /// <param name="planHash">A hash of the plan and config files, so that resume can tell a plan that changed.</param>
    /// <param name="configPath">The config file, if any.</param>
    /// <param name="pluginsPath">The plugins.json, if any.</param>
    /// <param name="workers">The worker count asked for, if any.</param>
    /// <param name="startedAt">When the run started.</param>
    /// <param name="inputs">The values of the plan's inputs for the run; none when it takes none.</param>
    /// <param name="cacheOff">Whether the run was told not to use the cache (<c>--no-cache</c>), so that
    /// <see cref="ExplainCache"/> can say so.</param>
    /// <param name="only">The tasks the run was cut down to (<c>run --only</c>); none for the whole plan.</param>
    /// <param name="fingerprints">Each task's fingerprint (<see cref="PlanEdits.Fingerprints(CompiledPlan)"/>), so that a resume after
    /// an edit knows which tasks changed; they replace those recorded before. None: the ones recorded stay.</param>
    /// <param name="forget">Tasks whose recorded outcome no longer stands (a resume after an edit runs them again, or
    /// the plan no longer has them): their records are removed in the same transaction, so that a resume interrupted
    /// before they finish cannot take their old outputs for the new definitions.</param>
    public void BeginRun(string runId, string planId, string planPath, string planHash, string? configPath, string? pluginsPath, int? workers, DateTimeOffset startedAt,
        IReadOnlyDictionary<string, JsonElement>? inputs = null, bool cacheOff = false, IReadOnlyList<string>? only = null,
        IReadOnlyDictionary<string, string>? fingerprints = null, IEnumerable<string>? forget = null)
    {
        Transact(session =>
        {
            Forget(session, runId, forget ?? []);
            session.Execute(
                """
                INSERT INTO runs (run_id, plan_id, plan_path, plan_hash, config_path, plugins_path, workers, started_at, status, host_pid, resumes, inputs, cache_off, only_tasks, host_name, heartbeat_at)
                VALUES (@run, @plan, @path, @hash, @config, @plugins, @workers, @started, 'running', @pid, 0, @inputs, @cacheOff, @only, @host, @beat)
                ON CONFLICT (run_id) DO UPDATE SET status = 'running', finished_at = NULL, host_pid = @pid, resumes = runs.resumes + 1, cache_off = @cacheOff, plugins_path = @plugins,
                  plan_path = @path, plan_hash = @hash, config_path = @config, host_name = @host, heartbeat_at = @beat;
                """,
                ("@run", runId), ("@plan", planId), ("@path", planPath), ("@hash", planHash), ("@config", configPath), ("@plugins", pluginsPath),
                ("@workers", workers), ("@started", Time(startedAt)), ("@pid", Environment.ProcessId),
                ("@inputs", inputs is { Count: > 0 } ? JsonSerializer.Serialize(inputs, JournalJson.Default.IReadOnlyDictionaryStringJsonElement) : null), ("@cacheOff", cacheOff ? 1 : 0),
                ("@only", only is { Count: > 0 } ? JsonSerializer.Serialize(only, JournalJson.Default.IReadOnlyListString) : null), ("@host", Environment.MachineName), ("@beat", Time(DateTimeOffset.UtcNow)));
            if (fingerprints is not null)
            {
                session.Execute("UPDATE runs SET fingerprints = @fingerprints WHERE run_id = @run;", ("@run", runId), ("@fingerprints", _store.Text(FingerprintText(fingerprints))));
            }
        });
        lock (_live)
        {
            // Readers on other machines cannot see this process: the run says it goes on until it ends.
            if (_live.Add(runId) && _live.Count == 1)
            {
                _heartbeat.Change(HeartbeatInterval, HeartbeatInterval);
            }
        }
    }

    private void Ended(string runId)
    {
        lock (_live)
        {
            if (_live.Remove(runId) && _live.Count == 0)
            {
                _heartbeat.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void Beat()
    {
        string[] runs;
        lock (_live)
        {
            runs = [.. _live];
        }

        try
        {
            var now = Time(DateTimeOffset.UtcNow);
            Transact(session =>
            {
                foreach (var run in runs)
                {
                    session.Execute("UPDATE runs SET heartbeat_at = @beat WHERE run_id = @run AND status = 'running';", ("@beat", now), ("@run", run));
                }
            });
        }
#pragma warning disable CA1031 // On a timer: a journal that fails is reported by the writes that matter, and one closed while
        // the timer fired has nothing to say; a missed heartbeat only ages the run.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Records a batch of attempts and finished tasks in one transaction. The engine's group commit hands every
    /// entry gathered during the previous write to one call, so this is the journal's hot path: its statements are
    /// prepared once per journal and bound by position on SQLite's own API, about a microsecond a row, where the
    /// ADO.NET commands cost several and allocate kilobytes.</summary>
    /// <remarks>SQLite writes synchronously; the call completes when the transaction is committed.</remarks>
    public ValueTask RecordAsync(IReadOnlyList<JournalEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        cancellationToken.ThrowIfCancellationRequested();
        return _store.WriteOrder == "rowid" ? Record(entries) : RecordOnServerAsync(entries, cancellationToken);
    }

    private ValueTask Record(IReadOnlyList<JournalEntry> entries)
    {
        Transact(session => _store.WriteTasks(session, Writes(entries)));
        return ValueTask.CompletedTask;
    }

    private async ValueTask RecordOnServerAsync(IReadOnlyList<JournalEntry> entries, CancellationToken cancellationToken)
    {
        var writes = Writes(entries);
        try
        {
            using var session = _store.Open();
            await session.BeginAsync(cancellationToken).ConfigureAwait(false);
            await _store.WriteTasksAsync(session, writes, cancellationToken).ConfigureAwait(false);
            await session.Transaction!.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (_store.Explain(ex) is { } explained)
        {
            throw explained;
        }
    }

    private static List<TaskWrite> Writes(IReadOnlyList<JournalEntry> entries)
    {
        // A task that also finishes in this batch need not be marked running first.
        HashSet<(string, string)>? finishing = null;
        foreach (var entry in entries)
        {
            if (entry.Finished is not null)
            {
                (finishing ??= []).Add((entry.RunId, entry.TaskId));
            }
        }

        var writes = new List<TaskWrite>(entries.Count);
        foreach (var entry in entries)
        {
            writes.Add(entry.Finished is { } task
                ? new TaskWrite(entry.RunId, entry.TaskId, entry.Attempt, null, false, task, ComponentsOf(task), KeepRecorded: false)
                : new TaskWrite(entry.RunId, entry.TaskId, entry.Attempt, Time(entry.At), finishing?.Contains((entry.RunId, entry.TaskId)) != true, null, null, false));
        }

        return writes;
    }

    /// <summary>Records how a run ended, with the final status of every task, the ones that never ran included.</summary>
    public void FinishRun(RunResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        // Tasks that ran were recorded as they finished; what is left are those that never started (skipped,
        // cancelled before they started, or restored on resume, whose recorded outputs stand).
        var writes = result.Tasks
            .Where(task => task.Attempts == 0)
            .Select(task => new TaskWrite(result.RunId, task.TaskId, 0, null, false, task, ComponentsOf(task), KeepRecorded: task.Status.IsSuccess()))
            .ToList();
        var report = ReportText(result);
        try
        {
            Transact(session =>
            {
                _store.WriteTasks(session, writes);
                session.Execute(
                    "UPDATE runs SET status = @status, finished_at = @finished, report = @report WHERE run_id = @run;",
                    ("@status", result.Status.ToString().ToLowerInvariant()), ("@finished", Time(result.StartedAt + result.Elapsed)), ("@run", result.RunId),
                    ("@report", _store.Text(report)));
            });
        }
        finally
        {
            // Even when the write fails: a run that has ended must not go on saying it runs.
            Ended(result.RunId);
        }
    }

    /// <summary>The command that resumes a run of this journal, quoted so that it can be pasted into a shell.</summary>
    /// <param name="runId">The run.</param>
    /// <returns>The command line.</returns>
    public string ResumeCommand(string runId) => $"parallelflow resume {ShellQuote.Quote(runId)} --journal {ShellQuote.Quote(Path)}";

    private string ReportText(RunResult result)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            RunReport.Write(result, writer, result.Status == RunStatus.Succeeded ? null : ResumeCommand(result.RunId));
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A run's report: the one written when it finished; for a run that did not finish (interrupted, still
    /// running, or recorded by a version that kept no report), one made from what the journal holds — each task's
    /// status, attempts, times, output and error, without the plan's dependencies or the summary's estimates.</summary>
    /// <param name="runId">The run.</param>
    /// <returns>The report, as <see cref="RunReport"/> writes it, and whether it is the run's own; null for an unknown run.</returns>
    public (JsonDocument Report, bool Complete)? Report(string runId)
    {
        if (Run(runId) is not { } run)
        {
            return null;
        }

        if (Use(session => session.Scalar("SELECT report FROM runs WHERE run_id = @run;", ("@run", runId))) is string stored)
        {
            return (JsonDocument.Parse(stored), true);
        }

        return (PartialReport(run), false);
    }

    private JsonDocument PartialReport(RunRecord run)
    {
        var starts = new Dictionary<string, List<(int Attempt, DateTimeOffset At)>>(StringComparer.Ordinal);
        Use(session =>
        {
            using var command = session.Command($"SELECT task_id, attempt, started_at FROM attempts WHERE run_id = @run ORDER BY {_store.WriteOrder};", ("@run", run.RunId));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                (starts.TryGetValue(reader.GetString(0), out var list) ? list : starts[reader.GetString(0)] = []).Add((reader.GetInt32(1), Parse(reader.GetString(2))));
            }

            return starts;
        });

        var tasks = Tasks(run.RunId);
        var end = run.FinishedAt ?? tasks.Select(t => t.FinishedAt).Where(t => t is not null).DefaultIfEmpty(run.StartedAt).Max()!.Value;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("task_id", run.PlanId);
            writer.WriteString("run_id", run.RunId);
            writer.WriteString("mode", "dag");
            writer.WriteString("status", run.Status);
            writer.WriteString("started_at", run.StartedAt);
            writer.WriteBoolean("partial", true);
            writer.WriteStartObject("execution_summary");
            writer.WriteNumber("total_subtasks", tasks.Count);
            writer.WriteNumber("execution_time", Math.Round((end - run.StartedAt).TotalSeconds, 6));
            writer.WriteNumber("workers_used", run.Workers ?? 0);
            writer.WriteStartObject("status_counts");
            foreach (var (status, count) in run.Counts)
            {
                writer.WriteNumber(status, count);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteStartArray("results");
            foreach (var task in tasks)
            {
                writer.WriteStartObject();
                writer.WriteString("id", task.TaskId);
                writer.WriteString("worker", string.Empty);
                writer.WriteString("status", task.Status);
                writer.WriteNumber("attempts", task.Attempts);
                writer.WriteNumber("duration", Math.Round(task.DurationSeconds, 6));
                var attempts = starts.GetValueOrDefault(task.TaskId) ?? [];
                if (attempts.Count > 0)
                {
                    writer.WriteString("start", attempts[0].At);
                    // An attempt ends where the next begins; the last where the task ended (or now, for one still running).
                    writer.WriteStartArray("attempt_log");
                    for (var i = 0; i < attempts.Count; i++)
                    {
                        var last = i == attempts.Count - 1;
                        writer.WriteStartObject();
                        writer.WriteNumber("attempt", attempts[i].Attempt);
                        writer.WriteString("start", attempts[i].At);
                        writer.WriteString("end", last ? task.FinishedAt ?? end : attempts[i + 1].At);
                        writer.WriteNumber("slot", 0);
                        writer.WriteString("status", last ? task.Status : "failed");
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                }

                if (task.FinishedAt is { } finished)
                {
                    writer.WriteString("end", finished);
                }

                if (task.Result is { } result)
                {
                    if (result.Text is not null)
                    {
                        writer.WriteString("output", result.Text);
                    }
                    else if (result.Json is { } json)
                    {
                        writer.WritePropertyName("output");
                        json.WriteTo(writer);
                    }
                }

                if (task.Error is not null)
                {
                    writer.WriteString("error", task.Error);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("next_steps");
            if (run.Status != "succeeded")
            {
                writer.WriteStringValue($"the run did not finish ({run.Status}): resume it with {ResumeCommand(run.RunId)}");
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return JsonDocument.Parse(buffer.WrittenMemory);
    }

    /// <summary>Records that a run ended without a result (the host failed while running it): it is kept as failed, so
    /// that it can be resumed, rather than as running.</summary>
    public void AbandonRun(string runId, DateTimeOffset at)
    {
        try
        {
            Write("UPDATE runs SET status = 'failed', finished_at = @finished WHERE run_id = @run AND status = 'running';", ("@finished", Time(at)), ("@run", runId));
        }
        finally
        {
            Ended(runId);
        }
    }

    /// <summary>Every run, newest first.</summary>
    public IReadOnlyList<RunRecord> Runs() => ReadRuns(null);

    /// <summary>One run, or null.</summary>
    public RunRecord? Run(string runId) => ReadRuns(runId).FirstOrDefault();

    /// <summary>Runs with their task counts in two queries, whatever their number.</summary>
    private List<RunRecord> ReadRuns(string? runId)
    {
        var filter = runId is null ? string.Empty : " WHERE run_id = @run";
        return Use(session =>
        {
            var counts = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
            using (var command = session.Command($"SELECT run_id, status, CAST(COUNT(*) AS INTEGER) FROM tasks{filter} GROUP BY run_id, status;", ("@run", runId)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    (counts.TryGetValue(reader.GetString(0), out var map) ? map : counts[reader.GetString(0)] = new(StringComparer.Ordinal))[reader.GetString(1)] = reader.GetInt32(2);
                }
            }

            var runs = new List<RunRecord>();
            using (var command = session.Command(
                $"SELECT run_id, plan_id, plan_path, plan_hash, config_path, plugins_path, workers, started_at, finished_at, status, host_pid, resumes, inputs, only_tasks, host_name, heartbeat_at FROM runs{filter} ORDER BY started_at DESC, run_id DESC;",
                ("@run", runId)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    var status = reader.GetString(9);
                    if (status == "running" && !IsAlive(reader.GetString(0), reader.IsDBNull(14) ? null : reader.GetString(14), reader.GetInt32(10), reader.IsDBNull(15) ? null : Parse(reader.GetString(15))))
                    {
                        status = "interrupted";
                    }

                    var id = reader.GetString(0);
                    runs.Add(new RunRecord(
                        id, reader.GetString(1), reader.GetString(2), reader.GetString(3),
                        reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5),
                        reader.IsDBNull(6) ? null : reader.GetInt32(6),
                        Parse(reader.GetString(7)), reader.IsDBNull(8) ? null : Parse(reader.GetString(8)),
                        status, reader.GetInt32(11), counts.TryGetValue(id, out var map) ? map : new Dictionary<string, int>())
                    {
                        Inputs = reader.IsDBNull(12) ? new Dictionary<string, JsonElement>() : JsonSerializer.Deserialize(reader.GetString(12), JournalJson.Default.DictionaryStringJsonElement)!,
                        Only = reader.IsDBNull(13) ? [] : JsonSerializer.Deserialize(reader.GetString(13), JournalJson.Default.StringArray)!,
                    });
                }
            }

            return runs;
        });
    }

    /// <summary>The tasks of a run as recorded, in the order they were first recorded.</summary>
    public IReadOnlyList<TaskRecord> Tasks(string runId)
    {
        return Use(session =>
        {
            using var command = session.Command(
                $"SELECT task_id, status, attempts, finished_at, duration_seconds, output_text, output_json, input_tokens, output_tokens, cost, error FROM tasks WHERE run_id = @run ORDER BY {_store.WriteOrder};",
                ("@run", runId));
            using var reader = command.ExecuteReader();
            var tasks = new List<TaskRecord>();
            while (reader.Read())
            {
                TaskResult? result = null;
                if (!reader.IsDBNull(5) || !reader.IsDBNull(6))
                {
                    result = new TaskResult
                    {
                        Text = reader.IsDBNull(5) ? null : reader.GetString(5),
                        Json = reader.IsDBNull(6) ? null : JsonDocument.Parse(reader.GetString(6)).RootElement.Clone(),
                        Usage = new TaskUsage(reader.GetInt64(7), reader.GetInt64(8), reader.GetDecimal(9)),
                    };
                }

                tasks.Add(new TaskRecord(
                    reader.GetString(0), reader.GetString(1), reader.GetInt32(2),
                    reader.IsDBNull(3) ? null : Parse(reader.GetString(3)), reader.GetDouble(4), result,
                    reader.IsDBNull(10) ? null : reader.GetString(10)));
            }

            return tasks;
        });
    }

    /// <summary>How many of a task's latest executions its learned estimate is the median of.</summary>
    public const int HistoryDepth = 5;

    /// <summary>How many of the plan's latest runs <see cref="History"/> reads, so that it stays quick in a long journal.</summary>
    private const int HistoryRuns = 20;

    /// <summary>What earlier runs of a plan measured, per task: the median duration, tokens and cost of each task's
    /// last <see cref="HistoryDepth"/> successful executions in the latest 20 runs of plans with this id (a cached or
    /// restored result is not one). <see cref="Engine.Plans.PlanDefinition.WithHistory"/> puts them into the plan.</summary>
    /// <param name="planId">The plan's id.</param>
    /// <param name="exceptRun">A run to leave out (the one about to start, when it is already recorded).</param>
    /// <returns>Learned estimates by task id; empty when the plan never ran here.</returns>
    public IReadOnlyDictionary<string, Engine.Plans.LearnedEstimate> History(string planId, string? exceptRun = null)
    {
        ArgumentNullException.ThrowIfNull(planId);
        var samples = new Dictionary<string, List<(double Seconds, long Tokens, decimal Cost)>>(StringComparer.Ordinal);
        Use(session =>
        {
            // Newest runs first, so that each task keeps its latest executions.
            using var command = session.Command(
                """
                SELECT t.task_id, t.duration_seconds, t.input_tokens + t.output_tokens, t.cost FROM tasks t JOIN runs r ON r.run_id = t.run_id
                WHERE r.run_id IN (SELECT run_id FROM runs WHERE plan_id = @plan AND run_id <> @except ORDER BY started_at DESC, run_id DESC LIMIT @runs)
                  AND t.status = 'succeeded' AND t.attempts > 0
                ORDER BY r.started_at DESC, r.run_id DESC;
                """,
                ("@plan", planId), ("@except", exceptRun ?? string.Empty), ("@runs", HistoryRuns));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var list = samples.TryGetValue(reader.GetString(0), out var found) ? found : samples[reader.GetString(0)] = [];
                if (list.Count < HistoryDepth)
                {
                    list.Add((reader.GetDouble(1), reader.GetInt64(2), reader.GetDecimal(3)));
                }
            }

            return samples;
        });

        return samples.ToDictionary(
            p => p.Key,
            p => new Engine.Plans.LearnedEstimate(Engine.Plans.Statistics.Median(p.Value.Select(s => s.Seconds)), p.Value.Count)
            {
                Tokens = Engine.Plans.Statistics.Median(p.Value.Select(s => s.Tokens)) is var tokens && tokens > 0 ? tokens : null,
                Cost = Engine.Plans.Statistics.Median(p.Value.Select(s => s.Cost)) is var cost && cost > 0 ? cost : null,
            },
            StringComparer.Ordinal);
    }

    /// <summary>Removes the records of some tasks of a run, so that resuming it runs them again: tasks a resume after an
    /// edit runs again (call it before the run starts again, which records the new fingerprints).</summary>
    /// <param name="runId">The run.</param>
    /// <param name="taskIds">The tasks.</param>
    public void Forget(string runId, IEnumerable<string> taskIds)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        Transact(session => Forget(session, runId, taskIds));
    }

    private static void Forget(JournalSession session, string runId, IEnumerable<string> taskIds)
    {
        foreach (var task in taskIds)
        {
            session.Execute("DELETE FROM tasks WHERE run_id = @run AND task_id = @task;", ("@run", runId), ("@task", task));
            session.Execute("DELETE FROM attempts WHERE run_id = @run AND task_id = @task;", ("@run", runId), ("@task", task));
        }
    }

    /// <summary>Records a run against its plan as it is now, when an edit changed the file but no task's definition:
    /// the plan's hash and the tasks' fingerprints are replaced, and nothing else of the run.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="planHash">The plan's hash now (<see cref="HashPlan"/>).</param>
    /// <param name="fingerprints">The tasks' fingerprints now.</param>
    public void Refingerprint(string runId, string planHash, IReadOnlyDictionary<string, string> fingerprints)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        Write("UPDATE runs SET plan_hash = @hash, fingerprints = @fingerprints WHERE run_id = @run;",
            ("@hash", planHash), ("@fingerprints", _store.Text(FingerprintText(fingerprints))), ("@run", runId));
    }

    /// <summary>The task fingerprints a run was recorded with (<see cref="PlanEdits.Fingerprints(CompiledPlan)"/>), by task id; null
    /// for a run recorded before journals kept them (schema 6 and older).</summary>
    public IReadOnlyDictionary<string, string>? Fingerprints(string runId) =>
        Use(session => session.Scalar("SELECT fingerprints FROM runs WHERE run_id = @run;", ("@run", runId))) is string text
            ? JsonDocument.Parse(text).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetRawText(), StringComparer.Ordinal)
            : null;

    /// <summary>Fingerprints as one JSON object, each task's fingerprint its value as written.</summary>
    private static string FingerprintText(IReadOnlyDictionary<string, string> fingerprints)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (task, fingerprint) in fingerprints)
            {
                writer.WritePropertyName(task);
                writer.WriteRawValue(fingerprint);
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The outputs of the tasks of a run that succeeded, for resuming it.</summary>
    public IReadOnlyDictionary<string, TaskResult> Succeeded(string runId) =>
        Tasks(runId).Where(t => t.Status is "succeeded" or "cached").ToDictionary(t => t.TaskId, t => t.Result ?? TaskResult.Empty, StringComparer.Ordinal);

    /// <inheritdoc/>
    public ValueTask<TaskResult?> FindAsync(TaskCacheKey key, TimeSpan? timeToLive, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Find(key, timeToLive));

    private TaskResult? Find(TaskCacheKey key, TimeSpan? timeToLive)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Use(session =>
        {
            using var command = session.Command("SELECT output_text, output_json, input_tokens, output_tokens, cost, created_at FROM cache WHERE key = @key;", ("@key", key.Hash));
            using var reader = command.ExecuteReader();
            if (!reader.Read() || (timeToLive is { } ttl && DateTimeOffset.UtcNow - Parse(reader.GetString(5)) > ttl))
            {
                return null;
            }

            return new TaskResult
            {
                Text = reader.IsDBNull(0) ? null : reader.GetString(0),
                Json = reader.IsDBNull(1) ? null : JsonDocument.Parse(reader.GetString(1)).RootElement.Clone(),
                Usage = new TaskUsage(reader.GetInt64(2), reader.GetInt64(3), reader.GetDecimal(4)),
            };
        });
    }

    /// <inheritdoc/>
    public ValueTask StoreAsync(TaskCacheKey key, TaskResult result, string runId, string taskId, CancellationToken cancellationToken = default)
    {
        Store(key, result, runId, taskId);
        return ValueTask.CompletedTask;
    }

    private void Store(TaskCacheKey key, TaskResult result, string runId, string taskId)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(result);
        Write(
            """
            INSERT INTO cache (key, worker, components, output_text, output_json, input_tokens, output_tokens, cost, created_at, run_id, task_id)
            VALUES (@key, @worker, @components, @text, @json, @in, @out, @cost, @at, @run, @task)
            ON CONFLICT (key) DO UPDATE SET output_text = @text, output_json = @json, input_tokens = @in, output_tokens = @out, cost = @cost, created_at = @at, run_id = @run, task_id = @task;
            """,
            ("@key", key.Hash), ("@worker", key.Worker), ("@components", _store.Text(Components(key))), ("@text", _store.Text(result.Text)), ("@json", _store.Text(result.Json?.GetRawText())),
            ("@in", result.Usage.InputTokens), ("@out", result.Usage.OutputTokens), ("@cost", result.Usage.Cost), ("@at", Time(DateTimeOffset.UtcNow)), ("@run", runId), ("@task", taskId));
    }

    /// <summary>
    /// Why a task of a run did or did not use the cache: a hit names the entry; a miss is compared with the closest
    /// earlier entry of the same worker (the same task id first), naming every input that differs.
    /// </summary>
    public IReadOnlyList<string>? ExplainCache(string runId, string taskId, TimeSpan? timeToLive = null)
    {
        if (Run(runId) is not { } run)
        {
            return null;
        }

        return Use(session =>
        {
            var cacheOff = session.Scalar("SELECT cache_off FROM runs WHERE run_id = @run;", ("@run", runId)) is { } flag && Convert.ToInt64(flag, CultureInfo.InvariantCulture) != 0;
            using var command = session.Command("SELECT status, cache_key, cache_components FROM tasks WHERE run_id = @run AND task_id = @task;", ("@run", runId), ("@task", taskId));
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }

            var status = reader.GetString(0);
            if (reader.IsDBNull(1))
            {
                return [cacheOff
                    ? $"{taskId} did not use the cache: the run was started with --no-cache"
                    : $"{taskId} did not use the cache: its worker is not deterministic and the task does not set \"cache\": true, or the task sets \"cache\": false"];
            }

            var key = reader.GetString(1);
            var mine = JsonDocument.Parse(reader.GetString(2)).RootElement.Clone();
            reader.Close();
            var entries = new List<(string Key, JsonElement Components, string Run, string Task, DateTimeOffset At)>();
            using (var all = session.Command("SELECT key, components, run_id, task_id, created_at FROM cache WHERE worker = @worker;", ("@worker", mine.GetProperty("worker").GetString())))
            using (var rows = all.ExecuteReader())
            {
                while (rows.Read())
                {
                    entries.Add((rows.GetString(0), JsonDocument.Parse(rows.GetString(1)).RootElement.Clone(), rows.GetString(2), rows.GetString(3), Parse(rows.GetString(4))));
                }
            }

            if (status == "cached")
            {
                var source = entries.Find(e => e.Key == key);
                return [$"{taskId} was a cache hit (key {key[..12]}): the output of run {source.Run} task {source.Task}, stored {source.At.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC"];
            }

            // Only what the run could have found: entries of the same task, stored before the run started.
            var earlier = entries.Where(e => e.Task == taskId && e.At < run.StartedAt).ToList();
            if (earlier.Count == 0)
            {
                return [$"{taskId} missed the cache (key {key[..12]}): no result of task '{taskId}' was stored before the run started"];
            }

            var closest = earlier
                .OrderBy(e => Differences(mine, e.Components).Count)
                .ThenByDescending(e => e.At)
                .First();
            var lines = new List<string> { $"{taskId} missed the cache (key {key[..12]}); the closest entry is run {closest.Run} task {closest.Task}, stored {closest.At.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC:" };
            var differences = Differences(mine, closest.Components);
            lines.AddRange(differences.Count > 0 ? differences.Select(d => $"  {d}") : [$"  nothing differs: the entry was older than the time-to-live{(timeToLive is { } t ? string.Create(CultureInfo.InvariantCulture, $" ({t.TotalSeconds:0}s)") : string.Empty)}"]);
            return (IReadOnlyList<string>)lines;
        });
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _heartbeat.Dispose();
        _store.Dispose();
    }

    internal static string Components(TaskCacheKey key) =>
        JsonSerializer.Serialize(new CacheKeyComponents(key.Worker, key.WorkerVersion, key.Parameters, key.Description, key.Inputs), JournalJson.Default.CacheKeyComponents);

    private static List<string> Differences(JsonElement mine, JsonElement theirs)
    {
        var differences = new List<string>();
        foreach (var name in new[] { "version", "description" })
        {
            if (mine.GetProperty(name).GetString() != theirs.GetProperty(name).GetString())
            {
                differences.Add($"{(name == "version" ? "worker version" : name)}: '{theirs.GetProperty(name).GetString()}' then, '{mine.GetProperty(name).GetString()}' now");
            }
        }

        using var now = JsonDocument.Parse(mine.GetProperty("with").GetString()!);
        using var then = JsonDocument.Parse(theirs.GetProperty("with").GetString()!);
        var keys = now.RootElement.EnumerateObject().Select(p => p.Name).Union(then.RootElement.EnumerateObject().Select(p => p.Name)).Order(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var a = then.RootElement.TryGetProperty(key, out var x) ? TaskCacheKey.Canonical(x) : null;
            var b = now.RootElement.TryGetProperty(key, out var y) ? TaskCacheKey.Canonical(y) : null;
            if (a != b)
            {
                differences.Add($"with.{key}: {a ?? "(absent)"} then, {b ?? "(absent)"} now");
            }
        }

        var inputsNow = mine.GetProperty("inputs").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        var inputsThen = theirs.GetProperty("inputs").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        foreach (var id in inputsNow.Keys.Union(inputsThen.Keys).Order(StringComparer.Ordinal))
        {
            if (!inputsThen.TryGetValue(id, out var before))
            {
                differences.Add($"input '{id}': a new dependency");
            }
            else if (!inputsNow.TryGetValue(id, out var after))
            {
                differences.Add($"input '{id}': no longer a dependency");
            }
            else if (before != after)
            {
                differences.Add($"input '{id}': its output changed");
            }
        }

        return differences;
    }

    private static string? ComponentsOf(TaskRunResult task) => task.CacheKey is { } key ? Components(key) : null;

    /// <summary>Runs a read on a connection of the store, explaining what the database refuses.</summary>
    private T Use<T>(Func<JournalSession, T> read)
    {
        try
        {
            using var session = _store.Open();
            return read(session);
        }
        catch (Exception ex) when (_store.Explain(ex) is { } explained)
        {
            throw explained;
        }
    }

    /// <summary>Runs writes in one transaction, explaining what the database refuses.</summary>
    private void Transact(Action<JournalSession> write) => Use(session =>
    {
        session.Begin();
        write(session);
        session.Commit();
        return true;
    });

    private void Write(string sql, params (string Name, object? Value)[] parameters) => Transact(session => session.Execute(sql, parameters));

    /// <summary>Whether a run recorded as running still is: this journal's own, or one whose heartbeat is fresh and, on
    /// this machine, whose process is alive (a process id reused after a restart has no heartbeat to show).</summary>
    private bool IsAlive(string runId, string? host, int pid, DateTimeOffset? heartbeat)
    {
        lock (_live)
        {
            if (_live.Contains(runId))
            {
                return true;
            }
        }

        var here = host is null || string.Equals(host, Environment.MachineName, StringComparison.OrdinalIgnoreCase);
        var fresh = heartbeat is not { } beat || DateTimeOffset.UtcNow - beat < HeartbeatStale;
        return fresh && (!here || (pid != Environment.ProcessId && IsAlive(pid)));
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>The output the journal keeps of a task that ended: a succeeded (or cached) task's, and what a failed one
    /// wrote before it failed (for <c>show</c>; a resume takes the outputs of succeeded tasks only).</summary>
    internal static TaskResult? Kept(TaskRunResult task) =>
        task.Result ?? (task.PartialOutput is { } partial ? TaskResult.FromText(partial) : null);

    internal static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
