using ParallelFlow.Sdk;

namespace ParallelFlow.Benchmarks;

/// <summary>A worker that does nothing, so a benchmark measures only the scheduler around it.</summary>
public sealed class NoWorkWorker : ParallelFlowWorker
{
    public const string Name = "no-work";

    public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(TaskResult.Empty);
}
