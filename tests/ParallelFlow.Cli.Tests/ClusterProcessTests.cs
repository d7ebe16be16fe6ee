using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace ParallelFlow.Cli.Tests;

/// <summary>A real cluster on this machine: <c>redis-server</c> on 127.0.0.1 and a free port, two
/// <c>parallelflow silo</c> processes and a coordinator (<c>parallelflow run --cluster</c>); one silo is killed with
/// SIGKILL while it runs tasks. The run completes, the report says which tasks were requeued, and a log the tasks
/// write proves that no task that had finished ran again. Everything started is stopped by PID.</summary>
[Collection(nameof(ProcessSweeps))]
public sealed class ClusterProcessTests : IDisposable
{
    private const int Tasks = 10;
    private readonly string _folder = Directory.CreateTempSubdirectory("parallelflow-cluster-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_silo_killed_mid_run_costs_only_its_in_flight_tasks()
    {
        using var redis = StartRedis(out var port);
        var cluster = $"redis://127.0.0.1:{port}";
        var log = Path.Combine(_folder, "executions.log");
        var plan = WritePlan(log);
        using var first = CliProcess.Start(["silo", "--cluster", cluster, "--slots", "2"], waitForLine: "joined");
        using var second = CliProcess.Start(["silo", "--cluster", cluster, "--slots", "2"], waitForLine: "joined");
        await first.LineAsync();
        await second.LineAsync();

        var status = await CliProcess.RunAsync("cluster", "status", "--cluster", cluster, "--json");
        Assert.Equal(0, status.ExitCode);
        using (var silos = JsonDocument.Parse(status.Out))
        {
            Assert.Equal(2, silos.RootElement.GetArrayLength());
            Assert.All(silos.RootElement.EnumerateArray(), s => Assert.Contains("process", s.GetProperty("workers").EnumerateArray().Select(w => w.GetString())));
        }

        var report = Path.Combine(_folder, "report.json");
        var html = Path.Combine(_folder, "report.html");
        using var coordinator = CliProcess.Start(["run", plan, "--cluster", cluster, "--no-journal", "--report", report, "--html", html]);
        // Both silos busy (4 tasks started), then the second dies at once, with no chance to say goodbye.
        await WaitFor(() => Lines(log).Count(l => l.StartsWith("start", StringComparison.Ordinal)) >= 4, "four tasks to start");
        var endedBeforeKill = Lines(log).Where(l => l.StartsWith("end", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]).ToHashSet();
        second.KillCommandOnly();

        var exitCode = await coordinator.WaitForExitAsync(TimeSpan.FromSeconds(120));

        Assert.True(exitCode == 0, $"exit {exitCode}\n{coordinator.Out}\n{coordinator.Error}");
        using var document = JsonDocument.Parse(File.ReadAllText(report));
        var results = document.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.All(results, r => Assert.Equal("succeeded", r.GetProperty("status").GetString()));
        var requeued = results.Where(r => r.TryGetProperty("requeued", out _)).Select(r => r.GetProperty("id").GetString()!).ToList();
        Assert.NotEmpty(requeued);
        Assert.All(results, r => Assert.Equal(1, r.GetProperty("attempts").GetInt32()));
        Assert.Contains("requeued", coordinator.Out, StringComparison.Ordinal);
        var starts = Lines(log).Where(l => l.StartsWith("start", StringComparison.Ordinal)).GroupBy(l => l.Split(' ')[1]).ToDictionary(g => g.Key, g => g.Count());
        for (var i = 0; i < Tasks; i++)
        {
            // Every task ran; one that had finished before the kill ran once and only once.
            Assert.True(starts.GetValueOrDefault($"t{i}") >= 1, $"t{i} never ran");
        }

        Assert.All(endedBeforeKill, id => Assert.Equal(1, starts[id]));
        // Only tasks that were requeued ran more than once.
        Assert.All(starts.Where(s => s.Value > 1), s => Assert.Contains(s.Key, requeued));

        // The HTML page marks each requeued task and counts the requeues, in a real browser, without errors.
        var (marked, problems) = await RequeuesOnPage(html);
        Assert.Empty(problems);
        Assert.Equal(requeued.Count, marked);

        var after = await CliProcess.RunAsync("cluster", "status", "--cluster", cluster, "--json");
        using var left = JsonDocument.Parse(after.Out);
        Assert.Equal(1, left.RootElement.GetArrayLength());
        first.SendTerminate();
        Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task A_cluster_on_postgresql_prepares_its_database_and_runs_a_plan()
    {
        using var postgres = PostgresServer.Start();
        postgres.CreateDatabase("cluster");
        // The password from the environment, as an operator gives it; the connection string carries none.
        var cluster = postgres.ConnectionString("cluster");
        var secret = new Dictionary<string, string> { ["PGPASSWORD"] = postgres.Password };
        // Before any silo: the coordinator prepares the empty database and says that no silo answered.
        var early = await CliProcess.RunAsync(secret, "cluster", "status", "--cluster", cluster);
        Assert.Equal(2, early.ExitCode);
        Assert.Contains("no silo answered within 10s", early.Error, StringComparison.Ordinal);

        using var silo = CliProcess.Start(["silo", "--cluster", cluster, "--slots", "4", "--worker-slots", "process=1"], waitForLine: "joined", environment: secret);
        await silo.LineAsync();

        var status = await CliProcess.RunAsync(secret, "cluster", "status", "--cluster", cluster, "--json");
        var run = await CliProcess.RunAsync(secret, "run", "examples/processes.json", "--cluster", cluster, "--no-journal");

        Assert.True(status.ExitCode == 0, status.Error);
        using (var silos = JsonDocument.Parse(status.Out))
        {
            Assert.Equal(1, silos.RootElement.GetArrayLength());
            Assert.Equal(1, silos.RootElement[0].GetProperty("worker_slots").GetProperty("process").GetInt32());
        }

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\n{run.Out}\n{run.Error}");
        // The plan's own parallelism (default_workers 2) holds on the cluster's 4 slots.
        Assert.Contains("1 silo(s), 4 slot(s); 2 at once for this run", run.Out, StringComparison.Ordinal);
        var wrong = await CliProcess.RunAsync(new Dictionary<string, string> { ["PGPASSWORD"] = "not-it" }, "cluster", "status", "--cluster", cluster);
        Assert.Equal(2, wrong.ExitCode);
        Assert.Contains("PostgreSQL refused the login", wrong.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", wrong.Error, StringComparison.Ordinal);
        silo.SendTerminate();
        Assert.Equal(0, await silo.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.DoesNotContain(postgres.Password, silo.Out + silo.Error + run.Out + run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_refuses_slots_for_a_worker_it_does_not_have()
    {
        var result = await CliProcess.RunAsync("silo", "--cluster", "localhost", "--worker-slots", "proces=2");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error: --worker-slots: this silo has no worker 'proces' (did you mean 'process'?)", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_cluster_connection_is_a_one_line_error()
    {
        var result = await CliProcess.RunAsync("run", "examples/processes.json", "--cluster", "redis:/nowhere", "--no-journal");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--cluster: 'redis:/nowhere' is not a cluster connection", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cluster_nobody_answers_is_a_one_line_error()
    {
        var port = FreePorts.Next();

        var result = await CliProcess.RunAsync("cluster", "status", "--cluster", $"redis://127.0.0.1:{port}");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"error: --cluster redis://127.0.0.1:{port}: cannot connect: the Redis server at 127.0.0.1:{port} does not answer (Connection refused)", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("abortConnect", result.Error, StringComparison.Ordinal);
    }

    private string WritePlan(string log)
    {
        var tasks = Enumerable.Range(0, Tasks).Select(i => new
        {
            id = $"t{i}",
            worker = "process",
            with = new { command = "sh", args = new[] { "-c", $"echo start t{i} >> '{log}'; sleep 1.5; echo end t{i} >> '{log}'; echo t{i}" } },
        }).ToList<object>();
        tasks.Add(new { id = "join", worker = "template", depends_on = Enumerable.Range(0, Tasks).Select(i => $"t{i}").ToArray(), with = new { text = "all done" } });
        var path = Path.Combine(_folder, "plan.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new { id = "cluster-kill", tasks }));
        return path;
    }

    private static async Task<(int Marked, List<string> Problems)> RequeuesOnPage(string html)
    {
        using var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Args = ["--no-sandbox"], Headless = true });
        var page = await browser.NewPageAsync();
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                lock (problems)
                {
                    problems.Add(message.Text);
                }
            }
        };
        page.PageError += (_, message) =>
        {
            lock (problems)
            {
                problems.Add(message);
            }
        };
        await page.GotoAsync(new Uri(html).AbsoluteUri);
        await page.WaitForSelectorAsync("#pf-tasks tbody tr.pf-task-row");
        var marked = await page.Locator("#pf-tasks .pf-rq").CountAsync();
        if (marked > 0 && !(await page.Locator("#pf-summary").InnerTextAsync()).Contains("Requeued (lost silo)", StringComparison.Ordinal))
        {
            problems.Add("the summary does not count the requeues");
        }

        return (marked, problems);
    }

    private static string[] Lines(string path) => File.Exists(path) ? File.ReadAllLines(path) : [];

    private static async Task WaitFor(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"waited 60s for {what}");
            await Task.Delay(50);
        }
    }


    /// <summary>Debian's redis-server on 127.0.0.1 and a free port, without persistence; killed by PID on dispose.</summary>
    private static KilledOnDispose StartRedis(out int port)
    {
        port = FreePorts.Next();
        var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start (apt-get install redis-server)");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                break;
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                Thread.Sleep(50);
            }
        }

        return new KilledOnDispose(process);
    }

    private sealed class KilledOnDispose(Process process) : IDisposable
    {
        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit();
            }

            process.Dispose();
        }
    }
}
