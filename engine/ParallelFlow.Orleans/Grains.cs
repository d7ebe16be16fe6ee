using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace ParallelFlow.Orleans;

/// <summary>The workers of one silo: its key is the silo's address, and it is placed on that silo and nowhere else
/// (<see cref="OnSiloPlacementDirector"/>), so a call reaches the machine it names, and a silo that died is never replaced by
/// an activation elsewhere claiming its name.</summary>
internal interface ISiloWorkersGrain : IGrainWithStringKey
{
    /// <summary>Runs one attempt with this silo's worker of the request's type; never throws for the worker's failure.</summary>
    Task<WireOutcome> Execute(WireRequest request, CancellationToken cancellationToken);

    /// <summary>The silo's workers, slots and counters.</summary>
    [AlwaysInterleave]
    Task<SiloDescription> Describe();
}

[Reentrant]
[OnSiloPlacement]
internal sealed class SiloWorkersGrain(SiloWorkers workers) : Grain, ISiloWorkersGrain
{
    public Task<WireOutcome> Execute(WireRequest request, CancellationToken cancellationToken) => workers.ExecuteAsync(request, cancellationToken);

    public Task<SiloDescription> Describe() => Task.FromResult(workers.Describe());
}

/// <summary>Places a grain on the silo whose address is its key, and refuses when that silo is not an active member.</summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
internal sealed class OnSiloPlacementStrategy : PlacementStrategy
{
    public static readonly OnSiloPlacementStrategy Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class OnSiloPlacementAttribute : PlacementAttribute
{
    public OnSiloPlacementAttribute()
        : base(OnSiloPlacementStrategy.Instance)
    {
    }
}

internal sealed class OnSiloPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString()!;
        var silo = SiloAddress.FromParsableString(key);
        foreach (var compatible in context.GetCompatibleSilos(target))
        {
            if (compatible.Equals(silo))
            {
                return Task.FromResult(silo);
            }
        }

        throw new SiloUnavailableException($"silo {key} is not an active member of the cluster");
    }
}
