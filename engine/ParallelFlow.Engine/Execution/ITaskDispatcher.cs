using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// Sends a task's attempts to be executed elsewhere (on the silos of a cluster, say) instead of by the worker in this
/// process. The run's scheduler stays where the run is: it decides which ready task gets a slot and when, under the
/// run's global and per-worker-type limits, and applies timeouts, retries and the cache; the dispatcher only carries
/// one attempt to an executor and its outcome back.
/// </summary>
/// <remarks>
/// <para>An attempt's outcome follows the worker contract: a result, or an exception
/// (<see cref="TransientTaskException"/>, <see cref="FatalTaskException"/>, <see cref="OperationCanceledException"/>
/// when the attempt's cancellation token fired). When the executor running an attempt is lost (its machine died),
/// the dispatcher sends the attempt again to another one and says so with <see cref="TaskDispatch.ReportRequeued"/>:
/// that is not a retry, and does not count against the task's attempts.</para>
/// </remarks>
public interface ITaskDispatcher
{
    /// <summary>Whether some executor can run tasks of this worker type now.</summary>
    /// <param name="workerType">The worker type.</param>
    /// <returns>Whether one can.</returns>
    bool Provides(string workerType);

    /// <summary>Executes one attempt.</summary>
    /// <param name="dispatch">The attempt: its run and request.</param>
    /// <param name="cancellationToken">The run's cancellation linked with the attempt's timeout; it must reach the executor.</param>
    /// <returns>The attempt's result.</returns>
    ValueTask<TaskResult> DispatchAsync(TaskDispatch dispatch, CancellationToken cancellationToken);
}

/// <summary>One attempt of a task handed to an <see cref="ITaskDispatcher"/>.</summary>
public sealed class TaskDispatch
{
    private readonly FlowRun _run;
    private readonly int _task;

    internal TaskDispatch(FlowRun run, int task, TaskRequest request)
    {
        _run = run;
        _task = task;
        Request = request;
    }

    /// <summary>The run's id.</summary>
    public string RunId => _run.RunId;

    /// <summary>The attempt's request: the task, its worker type and settings, inputs, dependencies' outputs, attempt
    /// number. Its <see cref="TaskRequest.Progress"/> turns lines into the run's <c>task_output</c> events.</summary>
    public TaskRequest Request { get; }

    /// <summary>Says that the attempt's executor was lost and the attempt is being sent again elsewhere: a
    /// <see cref="RunEventKind.TaskRequeued"/> event, counted in <see cref="TaskRunResult.Requeued"/>, not a retry.</summary>
    /// <param name="reason">Why, naming the executor that was lost.</param>
    public void ReportRequeued(string reason) => _run.OnRequeued(_task, Request.Attempt, reason);
}
