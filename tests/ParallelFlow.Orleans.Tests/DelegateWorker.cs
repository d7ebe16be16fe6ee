using ParallelFlow.Sdk;

namespace ParallelFlow.Orleans.Tests;

/// <summary>A worker that runs a delegate.</summary>
internal sealed class DelegateWorker(Func<TaskRequest, CancellationToken, ValueTask<TaskResult>> execute) : ParallelFlowWorker
{
    public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) => execute(request, cancellationToken);
}
