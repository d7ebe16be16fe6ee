using ParallelFlow.Engine.Workers;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Support;

public static class TestEngines
{
    public static ParallelFlowEngine With(TimeProvider? time = null, params (string Name, ParallelFlowWorker Worker)[] workers)
    {
        var catalog = WorkerCatalog.CreateDefault(time);
        foreach (var (name, worker) in workers)
        {
            catalog.AddWorker(name, worker);
        }

        return new ParallelFlowEngine(new EngineOptions { Catalog = catalog, TimeProvider = time });
    }
}
