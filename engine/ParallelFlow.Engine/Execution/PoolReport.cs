namespace ParallelFlow.Engine.Execution;

/// <summary>One change the pool made: its size, or whether new tasks were held back.</summary>
/// <param name="At">When, from the run's start.</param>
/// <param name="From">The size before.</param>
/// <param name="To">The size after.</param>
/// <param name="Held">Whether new tasks were held back after it (the engine over <c>resources.max_memory_mb</c>).</param>
/// <param name="Reason">Why: the load that decided it.</param>
public sealed record PoolResize(TimeSpan At, int From, int To, bool Held, string Reason);

/// <summary>What a run's pool did: for an adaptive pool (<c>parallelism.adaptive</c>), its range, the largest it grew
/// to and every change with its reason; for a fixed one under a memory limit, when it held back new tasks.</summary>
/// <param name="Adaptive">Whether the size moved with the load.</param>
/// <param name="Min">The least it could shrink to.</param>
/// <param name="Max">The most it could grow to.</param>
/// <param name="Peak">The largest it was.</param>
/// <param name="Resizes">The changes in order: the first 1,000 of a long run (its events and log have every one).</param>
public sealed record PoolReport(bool Adaptive, int Min, int Max, int Peak, IReadOnlyList<PoolResize> Resizes);
