using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Sample;

/// <summary>
/// A scheduling strategy: among ready tasks, the one more tasks wait for directly goes first, then the one with the
/// longer remaining path, then the one that became ready first. On wide graphs it releases work early, so later
/// choices have more to pick from.
/// </summary>
public sealed class FanOutFirstStrategy : ParallelFlowStrategy
{
    /// <inheritdoc/>
    public override string Description => "most direct dependents first, then the longest remaining path";

    /// <inheritdoc/>
    public override int Compare(in ReadyTask x, in ReadyTask y)
    {
        var byDependents = y.Dependents.CompareTo(x.Dependents);
        return byDependents != 0 ? byDependents : y.RemainingSeconds.CompareTo(x.RemainingSeconds);
    }
}
