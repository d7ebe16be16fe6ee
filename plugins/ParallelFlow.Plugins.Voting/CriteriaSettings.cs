namespace ParallelFlow.Plugins.Voting;

/// <summary>The <c>criteria</c> of a weighted or Pareto vote, as its scorer read them from the plan.</summary>
public sealed class CriteriaSettings
{
    internal CriteriaSettings(IReadOnlyList<Criterion> criteria) => Criteria = criteria;

    internal IReadOnlyList<Criterion> Criteria { get; }
}
