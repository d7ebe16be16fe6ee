namespace ParallelFlow.Sdk;

/// <summary>
/// The task went over its memory limit (<see cref="TaskRequest.MaxMemoryBytes"/>, the plan's
/// <c>resources.max_memory_mb</c>). The task fails with <c>failure_kind: memory</c> and is not retried: the same work
/// would need the same memory.
/// </summary>
public sealed class MemoryLimitException : FatalTaskException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went over and what the limit was.</param>
    /// <param name="limitBytes">The limit, in bytes.</param>
    public MemoryLimitException(string message, long limitBytes)
        : base(message) => LimitBytes = limitBytes;

    /// <summary>The limit that was exceeded, in bytes.</summary>
    public long LimitBytes { get; }
}
