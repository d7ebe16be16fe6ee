using ParallelFlow.Sdk;
using Polly.Timeout;

namespace ParallelFlow.Engine.Execution;

/// <summary>Sorts what a worker threw into timeout, transient or fatal, following the exception contract of
/// <see cref="ParallelFlowWorker"/>.</summary>
internal static class ExceptionClassifier
{
    public static FailureKind Classify(Exception exception, CancellationToken runToken) => exception switch
    {
        TimeoutRejectedException => FailureKind.Timeout,
        TaskStuckException => FailureKind.Stuck,
        OperationCanceledException when runToken.IsCancellationRequested => FailureKind.Cancelled,
        MemoryLimitException => FailureKind.Memory,
        FatalTaskException => FailureKind.Fatal,
        ArgumentException or NullReferenceException or InvalidCastException or NotSupportedException or NotImplementedException => FailureKind.Fatal,
        _ => FailureKind.Transient,
    };

    public static bool IsRetryable(FailureKind kind) => kind is FailureKind.Timeout or FailureKind.Transient or FailureKind.Stuck;
}

/// <summary>An attempt that reported no progress for the heartbeat interval (<c>timeouts.worker_heartbeat</c>).</summary>
internal sealed class TaskStuckException(TimeSpan silence)
    : TimeoutException(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"stuck: no progress for {silence.TotalSeconds:0.###}s"))
{
    public TimeSpan Silence { get; } = silence;
}
