using Microsoft.Extensions.Logging;

namespace ParallelFlow.Engine.Execution;

/// <summary>The engine's log messages, source-generated, with stable event ids.</summary>
internal sealed partial class EngineLog(ILogger logger)
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Run {RunId} of plan {PlanId} started: {TaskCount} tasks on {Workers} workers")]
    public partial void RunStarted(string runId, string planId, int taskCount, int workers);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Run {RunId} finished {Status} in {Elapsed}")]
    public partial void RunFinished(string runId, Execution.RunStatus status, TimeSpan elapsed);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Warning, Message = "Run {RunId}: task {TaskId} {Status}: {Error}")]
    public partial void TaskDidNotSucceed(string runId, string taskId, Execution.TaskRunStatus status, string? error);

    [LoggerMessage(EventId = 1108, Level = LogLevel.Warning, Message = "Run {RunId}: task {TaskId} attempt {Attempt} requeued: {Reason}")]
    public partial void TaskRequeued(string runId, string taskId, int attempt, string reason);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Run {RunId}: task {TaskId} retrying (attempt {Attempt}) in {DelaySeconds:0.###}s after: {Error}")]
    public partial void TaskRetrying(string runId, string taskId, int attempt, double delaySeconds, string error);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Run {RunId}: task {TaskId}: worker {Worker} did not return within {GraceSeconds:0.###}s of being cancelled; it is abandoned and may still be running")]
    public partial void WorkerAbandoned(string runId, string taskId, string worker, double graceSeconds);

    [LoggerMessage(EventId = 1109, Level = LogLevel.Warning, Message = "Run {RunId}: task {TaskId} attempt {Attempt} reported no progress for {Seconds:0.###}s (timeouts.worker_heartbeat): taken for stuck and cancelled")]
    public partial void TaskStuck(string runId, string taskId, int attempt, double seconds);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Information, Message = "Run {RunId}: pool {From} → {To} workers: {Reason}")]
    public partial void PoolResized(string runId, int from, int to, string reason);

    [LoggerMessage(EventId = 1200, Level = LogLevel.Error, Message = "Run {RunId}: the journal could not record task {TaskId}: {Error}")]
    public partial void JournalFailed(string runId, string taskId, string error);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Error, Message = "Run {RunId}: a cancellation callback a worker registered threw; the run stops all the same")]
    public partial void CancellationCallbackFailed(string runId, Exception exception);

    [LoggerMessage(EventId = 1300, Level = LogLevel.Error, Message = "Run {RunId}: strategy {Strategy} failed; the run goes on in ready order")]
    public partial void StrategyFailed(string runId, string strategy, Exception exception);
}
