namespace ParallelFlow.Engine.Plans;

/// <summary>How a run budget is divided among its tasks.</summary>
public enum BudgetPolicy
{
    /// <summary>Every task may use the same share: the limit divided by the number of tasks.</summary>
    Equal,

    /// <summary>Each task's share is proportional to its estimate (tasks without one count as the mean estimate).</summary>
    Proportional,

    /// <summary>One shared pool: a task reserves its estimate, at most <see cref="BudgetSettings.TaskCap"/> of the limit, and unknown estimates reserve the cap.</summary>
    Pool,
}

/// <summary>
/// A run budget in tokens and/or cost. A task reserves its share before it starts and settles its actual usage when
/// it ends; a task that cannot reserve waits for others to settle, and is skipped when nothing running can free
/// enough. Reservations never add up past a limit.
/// </summary>
/// <param name="Tokens">Most tokens the run may use, or null for no token limit.</param>
/// <param name="Cost">Most cost the run may use, or null for no cost limit.</param>
/// <param name="Policy">How the limits are divided.</param>
/// <param name="TaskCap">For <see cref="BudgetPolicy.Pool"/>: the largest fraction of a limit one task may reserve (0.4 = 40%).</param>
/// <param name="WallSeconds">Wall time the run may take; when it runs out, running tasks are cancelled and the rest do not start.</param>
public sealed record BudgetSettings(long? Tokens, decimal? Cost, BudgetPolicy Policy = BudgetPolicy.Pool, double TaskCap = 1.0, double? WallSeconds = null);
