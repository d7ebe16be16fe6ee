using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Support;

public static class TestEngines
{
    public static ParallelFlowEngine With(TimeProvider? time = null, params (string Name, ParallelFlowWorker Worker)[] workers)
    {
        var catalog = BuiltInWorkers.CreateCatalog(time);
        foreach (var (name, worker) in workers)
        {
            catalog.AddWorker(name, worker);
        }

        return new ParallelFlowEngine(new EngineOptions { Catalog = catalog, TimeProvider = time });
    }

    /// <summary>An engine whose worker types are the random graph's, each a probe worker that checks the task's
    /// dependencies had finished when it started.</summary>
    public static ParallelFlowEngine ForRandomDag(RandomDag dag, Probe probe)
    {
        (IEnumerable<string>, IEnumerable<string>) Dependencies(string id)
        {
            var task = int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture);
            return (dag.HardPredecessors[task].Select(RandomDag.Id), dag.SoftPredecessors[task].Select(RandomDag.Id));
        }

        return With(null, [.. RandomDag.WorkerTypes.Select(type => (type, probe.WorkerFor(type, Dependencies)))]);
    }
}
