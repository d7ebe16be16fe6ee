using System.Text.Json;

namespace ParallelFlow.Sdk;

/// <summary>
/// What the host lends a scorer or merger while it works: the other workers and mergers of the catalog, so an
/// LLM judge, a benchmark command or a synthesis model can be any registered worker.
/// </summary>
public interface ITaskServices
{
    /// <summary>Runs a registered worker once, outside the plan, and returns its result.</summary>
    /// <param name="workerName">A worker of the catalog (a plugin's or a built-in).</param>
    /// <param name="parameters">The worker's parameters (its <c>with</c>).</param>
    /// <param name="description">What the worker is asked to do.</param>
    /// <param name="inputs">Outputs handed to the worker as its dependency outputs.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="FatalTaskException">No worker has that name.</exception>
    ValueTask<TaskResult> InvokeWorkerAsync(string workerName, JsonElement parameters, string description, IReadOnlyDictionary<string, TaskResult>? inputs, CancellationToken cancellationToken);

    /// <summary>Runs a registered merger.</summary>
    /// <exception cref="FatalTaskException">No merger has that name.</exception>
    ValueTask<MergeResult> MergeAsync(string mergerName, MergeRequest request, CancellationToken cancellationToken);
}
