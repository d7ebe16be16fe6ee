using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Journal;

namespace ParallelFlow.Hosting.Tests;

/// <summary>The sample web service (examples/ParallelFlow.Examples.WebService) in-process, through
/// WebApplicationFactory: a plan per request with its inputs, the settings checked at start, the health check, the
/// host's logs, the journal, and runs cancelled when the host stops.</summary>
public sealed class WebServiceTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("parallelflow-hosting-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_request_runs_the_plan_with_its_body_as_inputs_and_the_run_is_journaled()
    {
        var journal = Path.Combine(_folder, "journal.db");
        await using var factory = Factory(("ParallelFlow:Journal", journal));
        using var client = factory.CreateClient();

        using var response = await client.PostAsJsonAsync("/plans/release-notes/runs", new { version = "2.1", highlights = 5 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("succeeded", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("Release 2.1: the top 5 of the changes since 2.1", body.RootElement.GetProperty("outputs").GetProperty("notes").GetString());
        var runId = body.RootElement.GetProperty("run_id").GetString()!;
        await factory.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        using var opened = RunJournal.Open(journal);
        var record = opened.Run(runId)!;
        Assert.Equal(("succeeded", "2.1"), (record.Status, record.Inputs["version"].GetString()));
    }

    [Fact]
    public async Task Wrong_inputs_are_a_400_with_the_plans_errors_and_an_unknown_plan_a_404()
    {
        await using var factory = Factory();
        using var client = factory.CreateClient();

        using var missing = await client.PostAsJsonAsync("/plans/release-notes/runs", new { highlights = "many" });
        using var unknown = await client.PostAsJsonAsync("/plans/release-nots/runs", new { version = "1" });

        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        var problem = await missing.Content.ReadAsStringAsync();
        Assert.Contains("PF0014", problem, StringComparison.Ordinal);
        Assert.Contains("input 'highlights' must be a number", problem, StringComparison.Ordinal);
        Assert.Contains("input 'version' is required", problem, StringComparison.Ordinal);
        Assert.DoesNotContain(RepositoryRoot.Path, problem, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("no plan named 'release-nots'; the host's plans: release-notes", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_health_check_and_the_plan_list_answer()
    {
        await using var factory = Factory();
        using var client = factory.CreateClient();

        Assert.Equal("Healthy", await client.GetStringAsync("/health"));
        Assert.Equal("[\"release-notes\"]", await client.GetStringAsync("/plans"));
    }

    // Start-up failures run the service as its own process, as an operator starts it: WebApplicationFactory races the
    // application's own disposal of a host that failed to start (it can surface an ObjectDisposedException instead).
    [Fact]
    public async Task Bad_settings_stop_the_host_at_start_naming_each_setting()
    {
        var (exitCode, error) = await StartFails(("ParallelFlow:Workers", "0"), ("ParallelFlow:Limits:llm", "-1"), ("ParallelFlow:Plans:missing", "nowhere.yaml"));

        Assert.Equal(2, exitCode);
        Assert.Contains("ParallelFlow:Workers is 0; it must be at least 1", error, StringComparison.Ordinal);
        Assert.Contains("ParallelFlow:Limits:llm is -1", error, StringComparison.Ordinal);
        Assert.Contains("ParallelFlow:Plans:missing names 'nowhere.yaml', which is not a file", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_limit_on_a_worker_type_nothing_provides_stops_the_host_at_start()
    {
        var (exitCode, error) = await StartFails(("ParallelFlow:Limits:simulat", "2"));

        Assert.Equal(2, exitCode);
        Assert.Contains("ParallelFlow:Limits:simulat names no worker type (did you mean 'simulate'?)", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plan_with_errors_stops_the_host_at_start_with_its_errors()
    {
        var broken = Path.Combine(_folder, "broken.yaml");
        File.WriteAllText(broken, "tasks:\n  - { id: a, worker: simulat }\n");

        var (exitCode, error) = await StartFails(("ParallelFlow:Plans:broken", broken));

        Assert.Equal(2, exitCode);
        Assert.Contains("ParallelFlow:Plans:broken: 1 error(s)", error, StringComparison.Ordinal);
        Assert.Contains("broken.yaml(2,", error, StringComparison.Ordinal);
        Assert.Contains("unknown worker 'simulat'. Did you mean 'simulate'?", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Workers_log_to_the_hosts_logs_and_runs_in_flight_are_cancelled_when_the_host_stops()
    {
        var slow = Path.Combine(_folder, "slow.yaml");
        File.WriteAllText(slow, "tasks:\n  - { id: wait, worker: simulate, with: { seconds: 600 } }\n");
        var logs = new ConcurrentQueue<string>();
        var journal = Path.Combine(_folder, "shutdown.db");
        var factory = Factory(("ParallelFlow:Plans:slow", slow), ("ParallelFlow:ShutdownGraceSeconds", "5"), ("ParallelFlow:Journal", journal))
            .WithWebHostBuilder(b => b.ConfigureLogging(l => l.AddProvider(new CollectingLoggerProvider(logs))));
        using (factory.CreateClient())
        {
        }

        var services = factory.Services;
        var runner = services.GetRequiredService<ParallelFlowRunner>();
        var engine = services.GetRequiredService<ParallelFlowEngine>();
        var logged = engine.Compile(new PlanBuilder("logs").AddTask("say", request =>
        {
#pragma warning disable CA1848 // A test line, logged once.
            request.Logger.LogInformation("hello from a worker");
#pragma warning restore CA1848
            return "said";
        }).Build());
        Assert.Equal(RunStatus.Succeeded, (await runner.Start(logged, null, CancellationToken.None).Completion.Within()).Status);
        var run = runner.Start("slow", null, CancellationToken.None);

        await factory.DisposeAsync().AsTask().Within();

        Assert.Equal(RunStatus.Cancelled, (await run.Completion.Within()).Status);
        Assert.Contains(logs, line => line.Contains("hello from a worker", StringComparison.Ordinal));
        // Kept in the journal as cancelled, with the plan's path and hash, so `parallelflow resume` can continue it.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        using var opened = RunJournal.Open(journal);
        var record = opened.Run(run.RunId)!;
        Assert.Equal(("cancelled", slow), (record.Status, record.PlanPath));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(slow))), record.PlanHash);
    }

    /// <summary>Starts the service with these settings on a free loopback port and waits for it to exit.</summary>
    private async Task<(int ExitCode, string Error)> StartFails(params (string Key, string Value)[] settings)
    {
        string[] args =
        [
            "--contentRoot", Path.Combine(RepositoryRoot.Path, "examples/ParallelFlow.Examples.WebService"),
            "--urls", "http://127.0.0.1:0",
            "--ParallelFlow:Journal", Path.Combine(_folder, "journal.db"),
            .. settings.SelectMany(s => new[] { "--" + s.Key, s.Value }),
        ];
        using var service = CliProcess.StartProgram("ParallelFlow.Examples.WebService", args);
        var exitCode = await service.WaitForExitAsync();
        return (exitCode, service.Error);
    }

    private WebApplicationFactory<Program> Factory(params (string Key, string Value)[] settings) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ParallelFlow:Journal", Path.Combine(_folder, $"journal-{Guid.NewGuid():N}.db"));
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
        });

    private sealed class CollectingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Collecting(lines);

        public void Dispose()
        {
        }

        private sealed class Collecting(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue(formatter(state, exception));
        }
    }
}
