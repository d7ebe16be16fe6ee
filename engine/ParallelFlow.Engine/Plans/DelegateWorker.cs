using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Plans;

/// <summary>Runs a host's delegate as a task (<see cref="Plans.PlanBuilder.AddTask(string, Func{TaskRequest, CancellationToken, ValueTask{TaskResult}})"/>).</summary>
internal sealed class DelegateWorker(Func<TaskRequest, CancellationToken, ValueTask<TaskResult>> execute) : ParallelFlowWorker
{
    public const string Name = "inline";

    public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
        execute(request, cancellationToken);
}
