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
        OperationCanceledException when runToken.IsCancellationRequested => FailureKind.Cancelled,
        FatalTaskException => FailureKind.Fatal,
        ArgumentException or NullReferenceException or InvalidCastException or NotSupportedException or NotImplementedException => FailureKind.Fatal,
        _ => FailureKind.Transient,
    };

    public static bool IsRetryable(FailureKind kind) => kind is FailureKind.Timeout or FailureKind.Transient;
}
