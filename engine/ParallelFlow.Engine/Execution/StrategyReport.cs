namespace ParallelFlow.Engine.Execution;

/// <summary>The scheduling strategy of a run.</summary>
/// <param name="Name">The strategy's name.</param>
/// <param name="Reranks">How often the ready tasks were re-ranked because observed durations changed the remaining paths.</param>
/// <param name="Failure">When a plugin's strategy threw: what it threw; the run went on in ready order from then.</param>
public sealed record StrategyReport(string Name, int Reranks, string? Failure);
