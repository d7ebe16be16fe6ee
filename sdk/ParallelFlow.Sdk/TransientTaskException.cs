namespace ParallelFlow.Sdk;

/// <summary>Thrown by a worker, scorer or merger for a failure that another attempt may not repeat
/// (a dropped connection, a busy service). The engine retries it under the task's retry policy.</summary>
public class TransientTaskException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TransientTaskException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public TransientTaskException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public TransientTaskException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>What the attempt wrote before it failed (a program's output, say), or null. The engine keeps the last
    /// attempt's as the failed task's output, beside the error, in the report and the journal; dependents still do not
    /// run.</summary>
    public string? Output { get; init; }
}
