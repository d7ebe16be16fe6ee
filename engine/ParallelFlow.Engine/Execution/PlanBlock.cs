using System.Text.Json;
using System.Threading.Tasks.Dataflow;

namespace ParallelFlow.Engine.Execution;

/// <summary>The settings of a compiled plan used as a Dataflow block (<see cref="CompiledPlan.AsBlock(PlanBlockOptions?)"/>).</summary>
public sealed class PlanBlockOptions
{
    /// <summary>How many items the block holds at once — waiting, running and finished but not yet taken — before a
    /// producer's <c>SendAsync</c> waits (and <c>Post</c> is declined).</summary>
    /// <value>64.</value>
    public int BoundedCapacity { get; init; } = 64;

    /// <summary>How many items run at once, each a run of the plan.</summary>
    /// <value>The processor count. With a <see cref="Pool"/>, its limits hold across all of them too.</value>
    public int MaxConcurrentRuns { get; init; } = Environment.ProcessorCount;

    /// <summary>Whether results leave in the order items came (true), or as each run ends.</summary>
    /// <value>True.</value>
    public bool EnsureOrdered { get; init; } = true;

    /// <summary>The pool every run of the block shares, with any other run of it.</summary>
    /// <value>None: each run has its own limits.</value>
    public ParallelFlowPool? Pool { get; init; }

    /// <summary>Cancels the block: runs in flight are cancelled, and the block completes cancelled.</summary>
    public CancellationToken CancellationToken { get; init; }
}

/// <summary>Makes a compiled plan a Dataflow block.</summary>
internal static class PlanBlock
{
    public static IPropagatorBlock<TInput, RunResult> Create<TInput>(CompiledPlan plan, Func<TInput, RunOptions> optionsFor, PlanBlockOptions? options)
    {
        ArgumentNullException.ThrowIfNull(optionsFor);
        options ??= new PlanBlockOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BoundedCapacity, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrentRuns, 1, nameof(options));
        var token = options.CancellationToken;
        return new TransformBlock<TInput, RunResult>(
            item =>
            {
                var runOptions = optionsFor(item) ?? new RunOptions();
                if (options.Pool is { } pool && runOptions.Pool is null)
                {
                    runOptions = runOptions with { Pool = pool };
                }

                // A run that cannot start (inputs that do not fit the plan, a full pool) faults the block, by the
                // Dataflow rules; a run that fails or is cancelled is a result like any other. Nothing but the result
                // leaves the block, so a result disposed downstream gives its run's arrays back to the plan.
                return plan.RunAsync(runOptions, token);
            },
            new ExecutionDataflowBlockOptions
            {
                BoundedCapacity = options.BoundedCapacity,
                MaxDegreeOfParallelism = options.MaxConcurrentRuns,
                EnsureOrdered = options.EnsureOrdered,
                CancellationToken = token,
            });
    }

    public static RunOptions ForInputs(IReadOnlyDictionary<string, JsonElement> inputs) => new() { Inputs = inputs };
}
