using ParallelFlow.Engine.Plans;
using Polly;
using Polly.Retry;

namespace ParallelFlow.Engine.Execution;

/// <summary>The timeout and retry of one kind of task, as a Polly pipeline built once at compile time and shared by
/// every task with the same settings, in every run. Retry is outside, timeout inside: each attempt has its own limit.</summary>
internal sealed class TaskPolicy
{
    public static readonly ResiliencePropertyKey<FlowRun> RunKey = new("parallelflow.run");
    public static readonly ResiliencePropertyKey<int> TaskKey = new("parallelflow.task");

    private TaskPolicy(ResiliencePipeline<Sdk.TaskResult> pipeline, RetrySettings retry, TimeSpan? timeout)
    {
        Pipeline = pipeline;
        Retry = retry;
        Timeout = timeout;
    }

    public ResiliencePipeline<Sdk.TaskResult> Pipeline { get; }

    public RetrySettings Retry { get; }

    public TimeSpan? Timeout { get; }

    /// <summary>Builds the policy, or returns null when the task has neither a timeout nor retries, so such tasks
    /// skip Polly altogether.</summary>
    public static TaskPolicy? Create(RetrySettings retry, TimeSpan? timeout, TimeProvider timeProvider)
    {
        if (retry.MaxAttempts <= 1 && timeout is null)
        {
            return null;
        }

        var builder = new ResiliencePipelineBuilder<Sdk.TaskResult> { TimeProvider = timeProvider };
        if (retry.MaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions<Sdk.TaskResult>
            {
                MaxRetryAttempts = retry.MaxAttempts - 1,
                // An attempt whose worker was abandoned may still be running: another beside it could do the work twice.
                ShouldHandle = static args => ValueTask.FromResult(
                    args.Outcome.Exception is { } ex &&
                    args.Context.Properties.TryGetValue(RunKey, out var run) &&
                    ExceptionClassifier.IsRetryable(ExceptionClassifier.Classify(ex, run.CancellationToken)) &&
                    !(args.Context.Properties.TryGetValue(TaskKey, out var task) && run.WasAbandoned(task))),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(Delay(retry, args.AttemptNumber)),
                OnRetry = static args =>
                {
                    if (args.Context.Properties.TryGetValue(RunKey, out var run) && args.Context.Properties.TryGetValue(TaskKey, out var task))
                    {
                        // AttemptNumber counts from 0 for the attempt that just failed, so the next one is number + 2.
                        run.OnRetrying(task, args.AttemptNumber + 2, args.RetryDelay, args.Outcome.Exception);
                    }

                    return default;
                },
            });
        }

        if (timeout is { } limit)
        {
            builder.AddTimeout(limit);
        }

        return new TaskPolicy(builder.Build(), retry, timeout);
    }

    /// <summary>The wait before retry <paramref name="attempt"/> + 1: exponential in the plan's multiplier, capped, and
    /// with jitter spread over ±25%. Polly runs the attempts and waits on the injected clock; this only sizes the wait.</summary>
    internal static TimeSpan Delay(RetrySettings retry, int attempt)
    {
        var seconds = retry.InitialDelaySeconds * Math.Pow(retry.BackoffMultiplier, attempt);
        if (retry.MaxDelaySeconds is { } cap)
        {
            seconds = Math.Min(seconds, cap);
        }

        if (retry.Jitter)
        {
#pragma warning disable CA5394 // Jitter spreads retries; it needs no cryptographic randomness.
            seconds *= 0.75 + (Random.Shared.NextDouble() * 0.5);
#pragma warning restore CA5394
        }

        return TimeSpan.FromSeconds(seconds);
    }
}
