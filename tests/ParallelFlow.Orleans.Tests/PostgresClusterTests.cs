using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Workers;
using ParallelFlow.Hosting;
using ParallelFlow.Sdk;

namespace ParallelFlow.Orleans.Tests;

/// <summary>A cluster whose membership is in PostgreSQL (a real server started by the test on 127.0.0.1 and a free port,
/// stopped by PID): two silos in this process prepare an empty database and find each other through it; a coordinator
/// and a host (<c>AddParallelFlow(…).UseOrleansCluster(…)</c>) run plans on them; the silo's span of an attempt is in
/// the coordinator's trace, under its run span.</summary>
public sealed class PostgresClusterTests : IAsyncLifetime
{
    private const int SlotsPerSilo = 2;
    private static readonly ConcurrentDictionary<string, int> Executions = new(StringComparer.Ordinal);
    private readonly List<IHost> _silos = [];
    private PostgresServer _postgres = null!;
    private string _connection = null!;

    public async Task InitializeAsync()
    {
        _postgres = PostgresServer.Start();
        _postgres.CreateDatabase("cluster");
        _connection = _postgres.ConnectionStringWithPassword("cluster");
        var cluster = ClusterConnection.Parse(_connection);
        for (var i = 0; i < 2; i++)
        {
            var silo = ParallelFlowCluster.BuildSilo(cluster, o =>
            {
                o.Slots = SlotsPerSilo;
                o.ConfigureWorkers = catalog => catalog.AddWorker("counted", new Counted());
            });
            // Both at once: each may find the database empty, and it is prepared once.
            _silos.Add(silo);
        }

        await Task.WhenAll(_silos.Select(s => s.StartAsync()));
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.StopAsync();
            silo.Dispose();
        }

        NpgsqlConnection.ClearAllPools();
        _postgres.Dispose();
    }

    [Fact]
    public void The_connection_is_shown_without_its_password()
    {
        var cluster = ClusterConnection.Parse(_connection);

        Assert.Equal(ClusterKind.PostgreSql, cluster.Kind);
        Assert.Equal($"127.0.0.1:{_postgres.Port}", cluster.Address);
        Assert.DoesNotContain(_postgres.Password, cluster.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(_postgres.Password, cluster.ToString(), StringComparison.Ordinal);
        var bad = Assert.Throws<FormatException>(() => ClusterConnection.Parse("Host=127.0.0.1;Password=hunter2;Nonsense=1"));
        Assert.DoesNotContain("hunter2", bad.Message, StringComparison.Ordinal);
        Assert.Contains("'Nonsense' is not a PostgreSQL setting", bad.Message, StringComparison.Ordinal);

        // The URL form, as --journal takes it.
        var url = ClusterConnection.Parse($"postgresql://{PostgresServer.User}:{_postgres.Password}@127.0.0.1:{_postgres.Port}/cluster");
        Assert.Equal((ClusterKind.PostgreSql, $"127.0.0.1:{_postgres.Port}"), (url.Kind, url.Address));
        Assert.DoesNotContain(_postgres.Password, url.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_coordinator_runs_a_plan_on_both_silos_and_the_silo_spans_join_its_trace()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ParallelFlowTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        await using var session = await ParallelFlowCluster.ConnectAsync(ClusterConnection.Parse(_connection), null, TimeSpan.FromSeconds(30), null, CancellationToken.None);
        await WaitFor(() => session.Dispatcher.Silos.Count == 2);
        var builder = new PlanBuilder("on-postgres").WithWorkers(2 * SlotsPerSilo);
        for (var i = 0; i < 12; i++)
        {
            builder.AddTask($"t{i}", "counted", t => t.With(new { ms = 100 }));
        }

        var result = await new ParallelFlowEngine(new EngineOptions { Catalog = Coordinator() }).Compile(builder.Build()).RunAsync(new RunOptions { Dispatcher = session.Dispatcher }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.All(result.Tasks, t => Assert.Equal(1, Executions[t.TaskId]));
        // Four slots, twelve tasks of 100 ms: both silos took some.
        await WaitFor(() => session.Dispatcher.Silos.Sum(s => s.Done) >= 12);
        Assert.All(session.Dispatcher.Silos, s => Assert.True(s.Done > 0, $"silo {s.Name} ran nothing"));

        var run = spans.Single(s => s.OperationName == "parallelflow.run" && s.GetTagItem("parallelflow.run.id") as string == result.RunId);
        var byId = spans.ToDictionary(s => s.SpanId);
        var onSilos = spans.Where(s => s.OperationName == "parallelflow.silo.attempt" && s.TraceId == run.TraceId).ToList();
        Assert.Equal(12, onSilos.Count);
        Assert.All(onSilos, span =>
        {
            // Up the parents, across the wire: the silo's span descends from the coordinator's run span.
            var ancestors = new List<string>();
            for (var at = span; at.ParentSpanId != default && byId.TryGetValue(at.ParentSpanId, out var parent); at = parent)
            {
                ancestors.Add(parent.OperationName);
                if (parent.SpanId == run.SpanId)
                {
                    return;
                }
            }

            Assert.Fail($"a silo attempt span is not under the run span; its ancestors: {string.Join(" < ", ancestors)}");
        });
    }

    [Fact]
    public async Task A_host_with_UseOrleansCluster_runs_its_plans_on_the_silos_and_journals_them_in_postgresql()
    {
        var folder = Directory.CreateTempSubdirectory("parallelflow-host-").FullName;
        try
        {
            _postgres.CreateDatabase("journal");
            var plan = Path.Combine(folder, "fan.json");
            File.WriteAllText(plan, JsonSerializer.Serialize(new
            {
                id = "fan",
                tasks = Enumerable.Range(0, 6).Select(i => new { id = $"p{i}", worker = "simulate", with = new { seconds = 0.05 } }),
            }));
            var settings = new Dictionary<string, string?>
            {
                ["ParallelFlow:Plans:fan"] = plan,
                ["ParallelFlow:Workers"] = "4",
                ["ParallelFlow:Journal"] = _postgres.ConnectionStringWithPassword("journal"),
            };
            var builder = Host.CreateApplicationBuilder();
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Services.AddParallelFlow(builder.Configuration).UseOrleansCluster(_connection);
            using var host = builder.Build();
            await host.StartAsync();
            var dispatcher = host.Services.GetRequiredService<ClusterDispatcher>();
            await WaitFor(() => dispatcher.Silos.Count == 2);
            var before = dispatcher.Silos.Sum(s => s.Done);

            var result = await host.Services.GetRequiredService<ParallelFlowRunner>().RunAsync("fan", null, CancellationToken.None).Within();

            Assert.Equal(RunStatus.Succeeded, result.Status);
            await WaitFor(() => dispatcher.Silos.Sum(s => s.Done) - before >= 6);
            using var journal = Journal.RunJournal.Open(_postgres.ConnectionStringWithPassword("journal"), create: false);
            Assert.Equal("succeeded", journal.Run(result.RunId)!.Status);
            Assert.Equal(6, journal.Tasks(result.RunId).Count(t => t.Status == "succeeded"));
            await host.StopAsync();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The coordinator's catalog names the silos' worker type so that plans validate; it never runs there.</summary>
    private static WorkerCatalog Coordinator()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("counted", new NeverHere());
        return catalog;
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "waited 30 s");
            await Task.Delay(50);
        }
    }

    /// <summary>A silo's worker: counts each execution of a task of a run, and waits a little.</summary>
    private sealed class Counted : ParallelFlowWorker
    {
        public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            Executions.AddOrUpdate(request.TaskId, 1, (_, n) => n + 1);
            await Task.Delay(TimeSpan.FromMilliseconds(request.GetDouble("ms") ?? 0), cancellationToken);
            return TaskResult.FromText(request.TaskId);
        }
    }

    private sealed class NeverHere : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            throw new FatalTaskException("ran on the coordinator, not on a silo");
    }
}
