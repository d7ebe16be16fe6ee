namespace ParallelFlow.Engine.Execution;

/// <summary>The snake_case names statuses have in reports, events and on the command line.</summary>
public static class TaskRunStatusNames
{
    /// <summary>The status's name: <c>succeeded</c>, <c>failed</c>, <c>timed_out</c>, <c>cancelled</c>, <c>skipped</c>, ….</summary>
    /// <param name="status">The status.</param>
    /// <returns>The name.</returns>
    internal static string ToName(this TaskRunStatus status) => status switch
    {
        TaskRunStatus.Pending => "pending",
        TaskRunStatus.Running => "running",
        TaskRunStatus.Succeeded => "succeeded",
        TaskRunStatus.Failed => "failed",
        TaskRunStatus.TimedOut => "timed_out",
        TaskRunStatus.Cancelled => "cancelled",
        TaskRunStatus.Skipped => "skipped",
        _ => "cached",
    };

    /// <summary>A failure kind's name in reports and traces: <c>timeout</c>, <c>transient</c>, <c>fatal</c>, ….</summary>
    /// <param name="kind">The kind.</param>
    /// <returns>The name.</returns>
    internal static string ToName(this FailureKind kind) => kind switch
    {
        FailureKind.None => "none",
        FailureKind.Timeout => "timeout",
        FailureKind.Transient => "transient",
        FailureKind.Fatal => "fatal",
        FailureKind.Cancelled => "cancelled",
        FailureKind.Dependency => "dependency",
        FailureKind.Stuck => "stuck",
        FailureKind.Memory => "memory",
        _ => "budget",
    };

    /// <summary>Whether the status is final.</summary>
    /// <param name="status">The status.</param>
    /// <returns><see langword="true"/> for every status but pending and running.</returns>
    public static bool IsFinal(this TaskRunStatus status) => status >= TaskRunStatus.Succeeded;

    /// <summary>Whether the task produced a result (succeeded or cached).</summary>
    /// <param name="status">The status.</param>
    /// <returns>Whether dependents may use the result.</returns>
    public static bool IsSuccess(this TaskRunStatus status) => status is TaskRunStatus.Succeeded or TaskRunStatus.Cached;
}
