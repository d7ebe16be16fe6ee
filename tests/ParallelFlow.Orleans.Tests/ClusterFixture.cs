using System.Collections.Concurrent;
using Orleans.TestingHost;
using ParallelFlow.Sdk;

namespace ParallelFlow.Orleans.Tests;

/// <summary>Two silos in this process (Orleans' TestCluster), each with 2 slots and the test's worker types, and a
/// coordinator's dispatcher over the cluster's client. Tests say what the workers do through <see cref="Workers"/>.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const int SlotsPerSilo = 3;

    /// <summary>What each worker type of the silos does now; set by the test before a run.</summary>
    public static ConcurrentDictionary<string, ParallelFlowWorker> Workers { get; } = new(StringComparer.Ordinal);

    public static readonly string[] WorkerTypes = [.. Engine.Tests.Support.RandomDag.WorkerTypes, "remote", "limited"];

    public TestCluster Cluster { get; private set; } = null!;

    public ClusterDispatcher Dispatcher { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(2);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        Dispatcher = new ClusterDispatcher(Cluster.Client, new ClusterDispatchOptions { PlacementTimeout = TimeSpan.FromSeconds(5), ProbeInterval = TimeSpan.FromMilliseconds(200) });
        await Dispatcher.StartAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        // Both silos known before a test starts.
        for (var i = 0; i < 100 && Dispatcher.Silos.Count < 2; i++)
        {
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        await Dispatcher.DisposeAsync();
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddParallelFlowWorkers(o =>
        {
            o.Slots = SlotsPerSilo;
            // The fixture's coordinators probe every 200 ms; one silent for 2 s is gone.
            o.OrphanTimeout = TimeSpan.FromSeconds(2);
            // One 'limited' task at a time per silo, whatever the slots.
            o.WorkerSlots = new() { ["limited"] = 1 };
            o.ConfigureWorkers = catalog =>
            {
                foreach (var type in WorkerTypes)
                {
                    catalog.AddWorker(type, new Forwarding(type));
                }
            };
        });
    }

    /// <summary>A silo's worker of a type: does what the test put in <see cref="Workers"/> for it.</summary>
    private sealed class Forwarding(string type) : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            Workers.TryGetValue(type, out var worker) ? worker.ExecuteAsync(request, cancellationToken) : throw new FatalTaskException($"the test set no '{type}' worker");
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterGroup : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
