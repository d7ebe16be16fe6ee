using System.Diagnostics;
using System.Text.Json;

namespace ParallelFlow.Cli.Tests;

/// <summary>A coordinator that dies, resumed from a journal on a real PostgreSQL server (started by the test on
/// 127.0.0.1 and a free port, stopped by PID): the run is listed as interrupted, and <c>resume</c> from another copy
/// of the plan (as on another machine) finishes it without running again what had succeeded. The password comes from
/// <c>PGPASSWORD</c> and is printed nowhere.</summary>
[Collection(nameof(ProcessSweeps))]
public sealed class PostgresJournalProcessTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("parallelflow-pgjournal-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_run_whose_coordinator_was_killed_resumes_from_the_shared_journal()
    {
        using var postgres = PostgresServer.Start();
        postgres.CreateDatabase("runs");
        var journal = postgres.ConnectionString("runs");
        var secret = new Dictionary<string, string> { ["PGPASSWORD"] = postgres.Password };
        var log = Path.Combine(_folder, "executions.log");
        var plan = WritePlan(Path.Combine(_folder, "machine-a"), log);

        using (var coordinator = CliProcess.Start(["run", plan, "--journal", journal], environment: secret))
        {
            // a and b are done and recorded; c runs; then the coordinator dies at once, with c's process.
            await WaitFor(() => File.Exists(Path.Combine(_folder, "c-ran-once")), "task c to start");
            // c may start before a's and b's ends are durable (the journal's group commit): wait until they are.
            var clock = Stopwatch.StartNew();
            for (var recorded = 0; recorded < 2;)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "a and b were not recorded within 60 s");
                var listed = await CliProcess.RunAsync(secret, "runs", "--journal", journal, "--json");
                using var runsNow = JsonDocument.Parse(listed.Out);
                recorded = runsNow.RootElement.EnumerateArray().Sum(r => r.GetProperty("counts").TryGetProperty("succeeded", out var n) ? n.GetInt32() : 0);
            }

            coordinator.KillHard();
            await coordinator.WaitForExitAsync();
            Assert.DoesNotContain(postgres.Password, coordinator.Out + coordinator.Error, StringComparison.Ordinal);
        }

        var runs = await CliProcess.RunAsync(secret, "runs", "--journal", journal, "--json");
        Assert.True(runs.ExitCode == 0, runs.Error);
        string runId;
        using (var listed = JsonDocument.Parse(runs.Out))
        {
            var run = Assert.Single(listed.RootElement.EnumerateArray());
            Assert.Equal("interrupted", run.GetProperty("status").GetString());
            runId = run.GetProperty("run_id").GetString()!;
        }

        // Machine B has its own checkout of the same plan, somewhere else.
        var elsewhere = WritePlan(Path.Combine(_folder, "machine-b"), log);
        var resumed = await CliProcess.RunAsync(secret, "resume", runId, "--journal", journal, "--plan", elsewhere);

        Assert.True(resumed.ExitCode == 0, $"exit {resumed.ExitCode}\n{resumed.Out}\n{resumed.Error}");
        Assert.Contains("2 of 3 tasks keep their recorded outputs", resumed.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(postgres.Password, resumed.Out + resumed.Error, StringComparison.Ordinal);
        var starts = File.ReadAllLines(log).Where(l => l.StartsWith("start", StringComparison.Ordinal)).GroupBy(l => l[6..]).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal((1, 1, 2), (starts["a"], starts["b"], starts["c"]));

        var shown = await CliProcess.RunAsync(secret, "show", runId, "c", "--journal", journal);
        Assert.Equal(0, shown.ExitCode);
        Assert.Contains("a and b, then c", shown.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_journal_server_that_is_not_there_is_a_one_line_error()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var result = await CliProcess.RunAsync("run", "examples/processes.json", "--journal", $"Host=127.0.0.1;Port={port};Database=runs;Username=u;Timeout=3");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"Host=127.0.0.1;Port={port};Database=runs;Username=u", result.Error, StringComparison.Ordinal);
        Assert.Contains("cannot reach PostgreSQL", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    /// <summary>a and b finish at once; c, their join, sleeps on its first execution (the one the coordinator dies in).</summary>
    private static string WritePlan(string folder, string log)
    {
        Directory.CreateDirectory(folder);
        var marker = Path.Combine(Path.GetDirectoryName(log)!, "c-ran-once");
        object Step(string id, string script, params string[] after) => new
        {
            id,
            worker = "process",
            depends_on = after,
            with = new { command = "sh", args = new[] { "-c", $"echo start {id} >> '{log}'; {script}" } },
        };
        var plan = new
        {
            id = "coordinator-dies",
            tasks = new[]
            {
                Step("a", "echo a"),
                Step("b", "echo b"),
                Step("c", $"if [ -f '{marker}' ]; then echo 'a and b, then c'; else touch '{marker}'; sleep 120; fi", "a", "b"),
            },
        };
        var path = Path.Combine(folder, "plan.json");
        File.WriteAllText(path, JsonSerializer.Serialize(plan));
        return path;
    }

    private static async Task WaitFor(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"waited 60s for {what}");
            await Task.Delay(50);
        }
    }
}
