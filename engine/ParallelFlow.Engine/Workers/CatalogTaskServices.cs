using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Workers;

/// <summary>Lends a scorer the catalog's workers and mergers, on behalf of one task.</summary>
internal sealed class CatalogTaskServices(WorkerCatalog catalog, TaskRequest parent) : ITaskServices
{
    private int _calls;

    public async ValueTask<TaskResult> InvokeWorkerAsync(string workerName, JsonElement parameters, string description, IReadOnlyDictionary<string, TaskResult>? inputs, CancellationToken cancellationToken)
    {
        if (!catalog.TryGetWorker(workerName, out var worker))
        {
            throw new FatalTaskException($"there is no worker named '{workerName}'; known workers: {string.Join(", ", catalog.WorkerNames)}");
        }

        var request = new TaskRequest
        {
            TaskId = $"{parent.TaskId}/{workerName}#{Interlocked.Increment(ref _calls)}",
            WorkerName = workerName,
            Description = description,
            With = parameters,
            DependencyOutputs = inputs ?? TaskRequest.NoDependencies,
            Logger = parent.Logger,
            Progress = parent.Progress,
            CancellationToken = cancellationToken,
        };
        var span = Diagnostics.EngineTelemetry.StartAttempt(request.TaskId, workerName, worker.ModelOperation, parent.Attempt, parameters);
        try
        {
            var result = await worker.ExecuteAsync(request, cancellationToken).ConfigureAwait(false);
            Diagnostics.EngineTelemetry.EndAttempt(span, result, null, null);
            return result;
        }
        catch (Exception ex)
        {
            Diagnostics.EngineTelemetry.EndAttempt(span, null, ex is OperationCanceledException ? "cancelled" : "failed", catalog.Secrets.RedactOrNull(ex.Message));
            throw;
        }
    }

    public async ValueTask<MergeResult> MergeAsync(string mergerName, MergeRequest request, CancellationToken cancellationToken)
    {
        if (!catalog.TryGetMerger(mergerName, out var merger))
        {
            throw new FatalTaskException($"there is no merger named '{mergerName}'; known mergers: {string.Join(", ", catalog.MergerNames)}");
        }

        return await merger.MergeAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
