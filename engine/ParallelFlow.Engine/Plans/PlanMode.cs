namespace ParallelFlow.Engine.Plans;

/// <summary>What a plan was written as: a plan, or a request of the executors' format bound as a plan of one task.</summary>
public enum PlanMode
{
    /// <summary>A plan: a graph of tasks. Reported as <c>dag</c>.</summary>
    Dag,

    /// <summary>A voting request, run as one vote task. Reported as <c>voting</c>.</summary>
    Voting,

    /// <summary>A sectioning request, run as one section task. Reported as <c>sectioning</c>.</summary>
    Sectioning,
}

/// <summary>The names reports and requests use for a <see cref="PlanMode"/>.</summary>
public static class PlanModeNames
{
    /// <summary>The mode's name in reports: <c>dag</c>, <c>voting</c> or <c>sectioning</c>.</summary>
    /// <param name="mode">The mode.</param>
    /// <returns>The name.</returns>
    public static string ToName(this PlanMode mode) => mode switch
    {
        PlanMode.Voting => "voting",
        PlanMode.Sectioning => "sectioning",
        _ => "dag",
    };
}
