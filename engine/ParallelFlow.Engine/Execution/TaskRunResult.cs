using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>How one task of a run ended.</summary>
public sealed record TaskRunResult
{
    /// <summary>The task's id.</summary>
    public required string TaskId { get; init; }

    /// <summary>The task's worker type.</summary>
    public required string WorkerType { get; init; }

    /// <summary>The final status.</summary>
    public required TaskRunStatus Status { get; init; }

    /// <summary>Why it did not succeed.</summary>
    public FailureKind FailureKind { get; init; }

    /// <summary>Attempts made; 0 for tasks that never ran.</summary>
    public int Attempts { get; init; }

    /// <summary>How often an attempt was sent again to another executor because the one running it was lost (a silo
    /// that died); these do not count in <see cref="Attempts"/>. 0 for a run in one process.</summary>
    public int Requeued { get; init; }

    /// <summary>When the first attempt began.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When the task reached its final status, for tasks that ran.</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Time from the first attempt's start to the end, retry delays included.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>The result, for tasks that succeeded.</summary>
    public TaskResult? Result { get; init; }

    /// <summary>The task's output as text: its result's text, else its JSON; null when it has no result (it did not
    /// succeed). <c>result["id"].Output</c> reads a task's output.</summary>
    public string? Output => Result?.ToString();

    /// <summary>What a task that failed wrote before it failed, when its worker said (a process's stdout and stderr;
    /// <see cref="FatalTaskException.Output"/>); null otherwise. Never a result: dependents do not see it.</summary>
    public string? PartialOutput { get; init; }

    /// <summary>How much the task's dependencies' outputs were cut down before it received them (<c>context</c>); null
    /// when none was over its limit.</summary>
    public ContextReport? Context { get; init; }

    /// <summary>What went wrong, for tasks that did not succeed.</summary>
    public string? Error { get; init; }

    /// <summary>The task's wave (level) in the plan.</summary>
    public int Wave { get; init; }

    /// <summary>The task's cache key, when the run had a cache and the task could use it.</summary>
    public TaskCacheKey? CacheKey { get; init; }

    /// <summary>The ids of the tasks it needs (<c>depends_on</c>).</summary>
    public IReadOnlyList<string> DependsOn { get; init; } = [];

    /// <summary>The ids of the tasks it runs after when they end, whatever their status (<c>after</c>).</summary>
    public IReadOnlyList<string> After { get; init; } = [];

    /// <summary>When its dependencies were done and it began to wait for a worker; recorded with
    /// <see cref="RunOptions.RecordAttempts"/>.</summary>
    public DateTimeOffset? ReadyAt { get; init; }

    /// <summary>Each attempt, in order; recorded with <see cref="RunOptions.RecordAttempts"/>, else empty.</summary>
    public IReadOnlyList<TaskAttempt> AttemptLog { get; init; } = [];
}
