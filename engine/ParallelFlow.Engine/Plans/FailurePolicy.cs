namespace ParallelFlow.Engine.Plans;

/// <summary>What a run does when a task fails (<c>on_failure</c>).</summary>
public enum FailurePolicy
{
    /// <summary>Independent branches go on; only the failed task's hard dependents are skipped. The default.</summary>
    Continue = 0,

    /// <summary>The first failure cancels every running and unstarted task.</summary>
    FailFast = 1,
}
