namespace ParallelFlow.Sdk;

/// <summary>
/// A scheduling strategy: the order in which ready tasks get a free worker. Register one with
/// <see cref="IPluginRegistrar.AddStrategy"/>; plans choose it by name in <c>strategy</c>, runs with <c>--strategy</c>.
/// </summary>
/// <remarks>
/// The engine keeps one queue of ready tasks per worker type, ordered by <see cref="Compare"/>, and gives a free
/// worker to the first task of the queues that still have room under their limits. <see cref="Compare"/> runs while
/// the engine holds its scheduling lock, several times for every task that becomes ready: keep it fast, free of
/// side effects and of allocation, and never block in it. It must be a consistent order (antisymmetric and
/// transitive); ties are broken by the order in which tasks became ready.
/// </remarks>
public abstract class ParallelFlowStrategy
{
    /// <summary>One line on what the strategy favours, shown by <c>parallelflow plugins</c>.</summary>
    public virtual string Description => string.Empty;

    /// <summary>Compares two ready tasks that compete for a worker.</summary>
    /// <param name="x">One ready task.</param>
    /// <param name="y">The other.</param>
    /// <returns>Negative when <paramref name="x"/> should start first, positive when <paramref name="y"/> should, zero for no preference.</returns>
    public abstract int Compare(in ReadyTask x, in ReadyTask y);
}

/// <summary>What a strategy knows about a ready task.</summary>
/// <param name="Id">The task's id.</param>
/// <param name="Worker">Its worker type.</param>
/// <param name="Priority">Its priority: 0 critical, 1 high, 2 normal, 3 low.</param>
/// <param name="Index">Its position in the plan.</param>
/// <param name="ReadyOrder">When it became ready in this run: 0 for the first task, counting up.</param>
/// <param name="EstimateSeconds">Its expected duration: the plan's or the worker's estimate, corrected by the durations
/// observed so far in this run for its worker type.</param>
/// <param name="RemainingSeconds">The longest expected path from its start to the end of the plan, itself included,
/// by the same corrected estimates: its critical-path length.</param>
/// <param name="Dependents">How many tasks depend on it directly.</param>
public readonly record struct ReadyTask(string Id, string Worker, int Priority, int Index, long ReadyOrder,
    double EstimateSeconds, double RemainingSeconds, int Dependents);
