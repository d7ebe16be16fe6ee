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

    /// <summary>A catalog with only the workers <paramref name="allowed"/> names, for plans from people the host does not
    /// trust with all of them (a service's remote plans): the vote and section workers are made anew for it, so that
    /// the workers their candidates and sections name are looked up in it too; scorers, mergers, strategies, secret
    /// variables and stage defaults are those of <paramref name="source"/>.</summary>
    internal static WorkerCatalog Restricted(WorkerCatalog source, IReadOnlySet<string> allowed, TimeProvider? timeProvider = null)
    {
        var time = timeProvider ?? TimeProvider.System;
        var restricted = new WorkerCatalog { StageDefaults = source.StageDefaults, CancellationGracePeriod = source.CancellationGracePeriod };
        var (workers, scorers, mergers, strategies) = source.Contents;
        foreach (var (name, worker) in workers)
        {
            if (allowed.Contains(name))
            {
                restricted.AddWorker(name, worker switch
                {
                    VoteWorker => new VoteWorker(restricted, time),
                    SectionWorker => new SectionWorker(restricted, time),
                    _ => worker,
                });
            }
        }

        restricted.AddParts(scorers, mergers, strategies, source.SecretVariables);
        return restricted;
    }
}
