namespace ParallelFlow.Sdk;

/// <summary>Thrown by a worker, scorer or merger for a failure that retrying cannot fix (bad parameters,
/// a missing file). The task fails at once, without further attempts.</summary>
public class FatalTaskException : Exception
{
    /// <summary>Creates the exception.</summary>
    public FatalTaskException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public FatalTaskException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public FatalTaskException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>What the attempt wrote before it failed (a program's output, say), or null. The engine keeps the last
    /// attempt's as the failed task's output, beside the error, in the report and the journal; dependents still do not
    /// run.</summary>
    public string? Output { get; init; }
}
