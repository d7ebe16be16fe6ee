using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace ParallelFlow.Orleans;

/// <summary>The workers of one silo: its key is the silo's address, and it is placed on that silo and nowhere else
/// (<see cref="OnSiloPlacementDirector"/>), so a call reaches the machine it names, and a silo that died is never replaced by
/// an activation elsewhere claiming its name.</summary>
internal interface ISiloWorkersGrain : IGrainWithStringKey
{
    /// <summary>Runs one attempt with this silo's worker of the request's type; never throws for the worker's failure.
    /// The worker's progress lines go to <paramref name="progress"/>, the coordinator's observer, when there is one.</summary>
    Task<WireOutcome> Execute(WireRequest request, IAttemptProgress? progress, CancellationToken cancellationToken);

    /// <summary>The silo's workers, slots and counters.</summary>
    /// <param name="coordinator">The dispatcher that asks: its asking is its lease on the attempts it sent here.</param>
    [AlwaysInterleave]
    Task<SiloDescription> Describe(Guid coordinator);
}

/// <summary>The coordinator's ear for the progress lines of the attempts it sent (a grain observer: an object of the
/// coordinator's process that silos call). One-way: a silo never waits on a coordinator for a line of output.</summary>
internal interface IAttemptProgress : IGrainObserver
{
    /// <summary>A progress line of a running attempt, numbered: lines may arrive out of order, and one older than a line
    /// already shown is dropped.</summary>
    [OneWay]
    Task Report(Guid attemptId, long number, string line);

    /// <summary>The attempt's last progress line, sent as it ends and awaited, so that it arrives before the outcome.</summary>
    Task ReportLast(Guid attemptId, long number, string line);
}

[Reentrant]
[OnSiloPlacement]
internal sealed class SiloWorkersGrain(SiloWorkers workers) : Grain, ISiloWorkersGrain
{
    public Task<WireOutcome> Execute(WireRequest request, IAttemptProgress? progress, CancellationToken cancellationToken) => workers.ExecuteAsync(request, progress, cancellationToken);

    public Task<SiloDescription> Describe(Guid coordinator) => Task.FromResult(workers.Describe(coordinator));
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
