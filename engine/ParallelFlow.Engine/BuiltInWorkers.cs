using ParallelFlow.Engine.Sectioning;
using ParallelFlow.Engine.Voting;
using ParallelFlow.Engine.Workers;

namespace ParallelFlow.Engine;

/// <summary>The workers the engine brings: <c>simulate</c>, <c>template</c>, <c>vote</c> and <c>section</c>.</summary>
/// <remarks>The catalog is a plain registry in the layer below the stages; the stage workers look workers, scorers
/// and mergers up in it, so the catalog cannot create them itself. A host starts from this catalog and adds its
/// plugins (<see cref="Plugins.PluginHost"/>) before compiling.</remarks>
public static class BuiltInWorkers
{
    /// <summary>Creates a catalog holding the built-in workers.</summary>
    /// <param name="timeProvider">The clock the <c>simulate</c> worker sleeps on and the stages wait on; the system clock when absent.</param>
    /// <returns>The catalog.</returns>
    public static WorkerCatalog CreateCatalog(TimeProvider? timeProvider = null)
    {
        var time = timeProvider ?? TimeProvider.System;
        var catalog = new WorkerCatalog();
        catalog.AddWorker(SimulateWorker.Name, new SimulateWorker(time));
        catalog.AddWorker(TemplateWorker.Name, new TemplateWorker());
        catalog.AddWorker(VoteWorker.Name, new VoteWorker(catalog, time));
        catalog.AddWorker(SectionWorker.Name, new SectionWorker(catalog, time));
        return catalog;
    }
}
