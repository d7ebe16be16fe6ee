namespace ParallelFlow.Engine.Plans;

/// <summary>How failed attempts are retried (<c>retry</c>), in the shape of parallel task executors' config.json.</summary>
/// <remarks>The delay before retry <c>n</c> (1-based) is <c>initial_delay × backoff_multiplier^(n−1)</c>, capped at
/// <c>max_delay</c>, and with <c>jitter</c> spread uniformly over ±25% of itself so that tasks failing together do not
/// retry together. Timeouts and transient failures are retried; fatal ones are not.</remarks>
public sealed record RetrySettings
{
    /// <summary>No retries: one attempt.</summary>
    public static RetrySettings None { get; } = new();

    /// <summary>Attempts in all, the first included.</summary>
    /// <value>1: no retry.</value>
    public int MaxAttempts { get; init; } = 1;

    /// <summary>How much each delay grows over the one before.</summary>
    /// <value>2.</value>
    public double BackoffMultiplier { get; init; } = 2;

    /// <summary>The delay before the first retry, in seconds.</summary>
    /// <value>1.</value>
    public double InitialDelaySeconds { get; init; } = 1;

    /// <summary>The longest delay, in seconds.</summary>
    /// <value>No cap.</value>
    public double? MaxDelaySeconds { get; init; }

    /// <summary>Whether delays are spread randomly.</summary>
    /// <value><see langword="true"/>.</value>
    public bool Jitter { get; init; } = true;
}
