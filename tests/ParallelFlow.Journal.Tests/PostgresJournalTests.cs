using Npgsql;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Sdk;

namespace ParallelFlow.Journal.Tests;

/// <summary>One PostgreSQL server for a test class, on 127.0.0.1 and a free port; each test gets a database of its own.</summary>
public sealed class PostgresFixture : IDisposable
{
    private int _databases;

    public PostgresServer Server { get; } = PostgresServer.Start();

    /// <summary>A new, empty database; its connection string carries the password.</summary>
    public string NewDatabase()
    {
        var name = $"journal_{Interlocked.Increment(ref _databases)}";
        Server.CreateDatabase(name);
        return Server.ConnectionStringWithPassword(name);
    }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        Server.Dispose();
    }
}

/// <summary>The contract on a PostgreSQL server.</summary>
public sealed class PostgresJournalContract(PostgresFixture postgres) : JournalContract, IClassFixture<PostgresFixture>
{
    private readonly string _database = postgres.NewDatabase();

    protected override RunJournal OpenJournal(bool create = true) => RunJournal.Open(_database, create);
}

/// <summary>What only a journal on a server has: machines that share it, logins, a server that is not there.</summary>
public sealed class PostgresJournalTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public void The_journal_is_shown_without_its_password()
    {
        var database = postgres.NewDatabase();
        using var journal = RunJournal.Open(database);

        Assert.True(RunJournal.IsDatabase(database));
        Assert.DoesNotContain(postgres.Server.Password, journal.Path, StringComparison.Ordinal);
        Assert.DoesNotContain("Password", journal.Path, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"Port={postgres.Server.Port}", journal.Path, StringComparison.Ordinal);
        Assert.DoesNotContain(postgres.Server.Password, journal.ResumeCommand("r"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_url_names_the_same_database_as_a_connection_string()
    {
        var database = postgres.NewDatabase();
        using (var journal = RunJournal.Open(database))
        {
            journal.BeginRun("r", "p", "plan.json", "h", null, null, null, DateTimeOffset.UtcNow);
        }

        var name = new NpgsqlConnectionStringBuilder(database).Database;
        using var byUrl = RunJournal.Open($"postgresql://{PostgresServer.User}:{postgres.Server.Password}@127.0.0.1:{postgres.Server.Port}/{name}", create: false);

        Assert.Equal("r", Assert.Single(byUrl.Runs()).RunId);
    }

    [Fact]
    public async Task A_run_whose_coordinator_died_on_another_machine_is_interrupted_and_resumes_here()
    {
        var database = postgres.NewDatabase();
        using (var elsewhere = RunJournal.Open(database))
        {
            elsewhere.BeginRun("r", "p", "plan.json", "h", null, null, 2, DateTimeOffset.UtcNow);
            await elsewhere.RecordAsync([new JournalEntry("r", "a", 1, DateTimeOffset.UtcNow, Succeeded("a", "from the first machine"))]);
        }

        // As another machine sees it: the run is on another host, whose process it cannot look at; its heartbeat is fresh.
        Sql(database, "UPDATE runs SET host_name = 'machine-a', host_pid = 1;");
        using var here = RunJournal.Open(database, create: false);
        Assert.Equal("running", here.Run("r")!.Status);

        // The coordinator died: no heartbeat for longer than the journal allows.
        Sql(database, $"UPDATE runs SET heartbeat_at = '{RunJournal.Time(DateTimeOffset.UtcNow - RunJournal.HeartbeatStale - TimeSpan.FromSeconds(1))}';");
        Assert.Equal("interrupted", here.Run("r")!.Status);

        var restored = here.Succeeded("r");
        Assert.Equal("from the first machine", restored["a"].Text);
        here.BeginRun("r", "p", "plan.json", "h", null, null, 2, DateTimeOffset.UtcNow);
        var run = here.Run("r")!;
        Assert.Equal(("running", 1), (run.Status, run.Resumes));
        Assert.Equal(Environment.MachineName, Sql(database, "SELECT host_name FROM runs;"));
    }

    [Fact]
    public async Task Processes_that_open_a_new_database_at_once_create_its_tables_once()
    {
        var database = postgres.NewDatabase();

        var journals = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => RunJournal.Open(database))));

        foreach (var journal in journals)
        {
            journal.Dispose();
        }

        Assert.Equal($"{RunJournal.SchemaVersion}", Sql(database, "SELECT value FROM meta WHERE key = 'schema_version';"));
    }

    [Fact]
    public async Task An_output_keeps_what_postgresql_text_can_hold()
    {
        using var journal = RunJournal.Open(postgres.NewDatabase());
        journal.BeginRun("r", "p", "plan.json", "h", null, null, null, DateTimeOffset.UtcNow);

        await journal.RecordAsync([new JournalEntry("r", "t", 1, DateTimeOffset.UtcNow, Succeeded("t", "binary\0output ünïcode"))]);

        Assert.Equal("binary\uFFFDoutput ünïcode", journal.Succeeded("r")["t"].Text);
    }

    [Fact]
    public void A_schema_6_database_is_brought_up_to_date_and_keeps_its_runs()
    {
        var database = postgres.NewDatabase();
        using (var journal = RunJournal.Open(database))
        {
            journal.BeginRun("old", "p", "plan.json", "h", null, null, null, DateTimeOffset.UtcNow);
        }

        // The first PostgreSQL journal: no fingerprints.
        Sql(database, "ALTER TABLE runs DROP COLUMN fingerprints; UPDATE meta SET value = '6' WHERE key = 'schema_version';");

        using (var upgraded = RunJournal.Open(database))
        {
            Assert.Equal("old", Assert.Single(upgraded.Runs()).RunId);
            Assert.Null(upgraded.Fingerprints("old"));
            upgraded.BeginRun("new", "p", "plan.json", "h", null, null, null, DateTimeOffset.UtcNow, fingerprints: new Dictionary<string, string> { ["t"] = """{"worker":"x"}""" });
            Assert.Equal("""{"worker":"x"}""", upgraded.Fingerprints("new")!["t"]);
        }

        Assert.Equal(RunJournal.SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), Sql(database, "SELECT value FROM meta WHERE key = 'schema_version';"));
    }

    [Fact]
    public void A_newer_schema_is_refused_with_its_version()
    {
        var database = postgres.NewDatabase();
        RunJournal.Open(database).Dispose();
        Sql(database, "UPDATE meta SET value = '99' WHERE key = 'schema_version';");

        var error = Assert.Throws<JournalException>(() => RunJournal.Open(database));

        Assert.Contains($"written by a newer ParallelFlow (schema 99; this version reads {RunJournal.SchemaVersion})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_database_is_no_journal_to_read()
    {
        var error = Assert.Throws<JournalException>(() => RunJournal.Open(postgres.NewDatabase(), create: false));

        Assert.Contains("this database holds no ParallelFlow journal yet", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_password_a_missing_database_and_no_server_are_explained()
    {
        var wrong = Assert.Throws<JournalException>(() => RunJournal.Open($"{postgres.Server.ConnectionString()};Password=not-it"));
        var missing = Assert.Throws<JournalException>(() => RunJournal.Open(postgres.Server.ConnectionStringWithPassword("no_such_database")));
        var port = FreePorts.Next();
        var nobody = Assert.Throws<JournalException>(() => RunJournal.Open($"Host=127.0.0.1;Port={port};Database=x;Username=u;Timeout=3"));

        Assert.Contains("PostgreSQL refused the login", wrong.Message, StringComparison.Ordinal);
        Assert.Contains("PGPASSWORD", wrong.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-it", wrong.Message, StringComparison.Ordinal);
        Assert.Contains("\"no_such_database\" does not exist; create it", missing.Message, StringComparison.Ordinal);
        Assert.StartsWith($"Host=127.0.0.1;Port={port};Database=x;Username=u", nobody.Message, StringComparison.Ordinal);
        Assert.Contains("cannot reach PostgreSQL", nobody.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelt_connection_string_is_refused_rather_than_taken_for_a_file_name()
    {
        var misspelt = $"Hots=127.0.0.1;Port={postgres.Server.Port};Database=x;Username=u";

        var typo = Assert.Throws<JournalException>(() => RunJournal.Open(misspelt));
        var hostless = Assert.Throws<JournalException>(() => RunJournal.Open("Database=x;Username=u;Port=5432"));

        Assert.True(typo.Message.Contains("is not a PostgreSQL setting (did you mean 'Host'?)", StringComparison.Ordinal), typo.Message);
        Assert.Contains("names no Host=", hostless.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.GetFullPath(misspelt)));
    }

    [Fact]
    public void No_message_repeats_a_password_however_the_text_is_wrong()
    {
        var port = FreePorts.Next();
        var badQuery = Assert.Throws<JournalException>(() => RunJournal.Open($"postgresql://u:s3cret-1@127.0.0.1:{port}/db?sslmode=nope"));
        var semicolon = Assert.Throws<JournalException>(() => RunJournal.Open($"Host=127.0.0.1;Port={port};Password=s3cret;2;Database=x"));
        var sslPassword = Assert.Throws<JournalException>(() => RunJournal.Open($"Host=127.0.0.1;Port={port};Database=x;Username=u;SSL Password=s3cret-3;Timeout=3"));

        Assert.Contains("the value of 'sslmode' is not valid", badQuery.Message, StringComparison.Ordinal);
        Assert.Contains("connection string is not valid", semicolon.Message, StringComparison.Ordinal);
        Assert.Contains("cannot reach PostgreSQL", sslPassword.Message, StringComparison.Ordinal);
        Assert.All(new[] { badQuery, semicolon, sslPassword }, e => Assert.DoesNotContain("s3cret", e.Message, StringComparison.Ordinal));
        Assert.False(File.Exists(Path.GetFullPath($"Host=127.0.0.1;Port={port};Password=s3cret;2;Database=x")));
    }

    [Theory]
    [InlineData("/data/date=2024-01-01/journal.db", false)]
    [InlineData("runs/part=3.db", false)]
    [InlineData("Data Source=runs.db", false)]
    [InlineData("Host=db;Password=a;b", true)]
    [InlineData("Database=x;Username=u", true)]
    [InlineData("postgresql://u@db/x", true)]
    public void A_journal_location_is_a_database_only_when_it_reads_as_one(string location, bool database) =>
        Assert.Equal(database, RunJournal.IsDatabase(location));

    [Fact]
    public void A_login_without_a_password_says_where_to_give_one()
    {
        var error = Assert.Throws<JournalException>(() => RunJournal.Open(postgres.Server.ConnectionString()));

        Assert.Contains("PostgreSQL asks for a password and none was given: set PGPASSWORD", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_connection_string_that_does_not_parse_is_refused_without_repeating_it()
    {
        var error = Assert.Throws<JournalException>(() => RunJournal.Open("Host=127.0.0.1;Password=s3cret;Bogus Keyword=1"));

        Assert.Contains("connection string is not valid", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
    }

    private static TaskRunResult Succeeded(string id, string text) => new()
    {
        TaskId = id,
        WorkerType = "w",
        Status = TaskRunStatus.Succeeded,
        Attempts = 1,
        FinishedAt = DateTimeOffset.UtcNow,
        Result = TaskResult.FromText(text),
    };

    private static object? Sql(string database, string sql)
    {
        using var connection = new NpgsqlConnection(database);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        return command.ExecuteScalar();
    }
}
