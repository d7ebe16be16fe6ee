using System.Collections.Concurrent;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Support;

/// <summary>A worker whose tasks announce that they started and then wait until the test releases them, fails them,
/// or their token is cancelled. Lets tests order events without sleeping. One gate per task id, for one attempt.</summary>
public sealed class GatedWorker : ParallelFlowWorker
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<TaskResult>> _gates = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _started = new();

    private readonly System.Threading.Channels.Channel<string> _startedIds = System.Threading.Channels.Channel.CreateUnbounded<string>();

    public ConcurrentQueue<string> StartOrder { get; } = new();

    /// <summary>The id of the next task to start, in start order.</summary>
    public Task<string> NextStartedAsync() => _startedIds.Reader.ReadAsync().AsTask();

    /// <summary>When set, attempts ignore their cancellation token, like a misbehaving worker.</summary>
    public bool IgnoreCancellation { get; init; }

    public Task Started(string taskId) => Signal(taskId).Task;

    public void Release(string taskId, string output = "ok") => Gate(taskId).TrySetResult(TaskResult.FromText(output));

    public void Fail(string taskId, Exception exception) => Gate(taskId).TrySetException(exception);

    public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
    {
        StartOrder.Enqueue(request.TaskId);
        var gate = Gate(request.TaskId);
        Signal(request.TaskId).TrySetResult();
        _startedIds.Writer.TryWrite(request.TaskId);
        return IgnoreCancellation ? await gate.Task.ConfigureAwait(false) : await gate.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private TaskCompletionSource<TaskResult> Gate(string taskId) =>
        _gates.GetOrAdd(taskId, _ => new TaskCompletionSource<TaskResult>(TaskCreationOptions.RunContinuationsAsynchronously));

    private TaskCompletionSource Signal(string taskId) =>
        _started.GetOrAdd(taskId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
