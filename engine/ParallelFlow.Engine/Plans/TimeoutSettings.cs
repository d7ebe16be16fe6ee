namespace ParallelFlow.Engine.Plans;

/// <summary>Task time limits (<c>timeouts</c>), in seconds, in the shape of parallel task executors' config.json.</summary>
/// <param name="DefaultTaskSeconds">Each attempt's limit for tasks that set no <c>timeout_seconds</c>; none when absent.</param>
/// <param name="MaxTaskSeconds">The most any task may set as its <c>timeout_seconds</c>.</param>
/// <param name="WorkerHeartbeatSeconds">How long an attempt of a worker that reports progress
/// (<c>ParallelFlowWorker.ReportsProgress</c>: the process worker, where each line of output is progress, and the llm
/// worker, whose answer's tokens are) may go
/// without a <c>TaskRequest.Progress</c> report before it is taken for stuck: cancelled, and retried by the retry policy,
/// with <c>failure_kind: stuck</c>. Workers that report nothing while they wait are held to their timeout only. None
/// when absent.</param>
public sealed record TimeoutSettings(double? DefaultTaskSeconds = null, double? MaxTaskSeconds = null, double? WorkerHeartbeatSeconds = null);
