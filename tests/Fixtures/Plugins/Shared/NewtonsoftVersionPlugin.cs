using Newtonsoft.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Fixtures;

/// <summary>Registers a worker (named by the "worker" setting) that answers with the Newtonsoft.Json version it runs
/// against, so a test can see two plugins use two versions of one dependency in one run.</summary>
public sealed class NewtonsoftVersionPlugin : ParallelFlowPlugin
{
    public override void Register(IPluginRegistrar registrar)
    {
        var name = registrar.Settings.TryGetProperty("worker", out var worker) ? worker.GetString()! : "newtonsoft";
        registrar.AddWorker(name, new VersionWorker());
    }

    private sealed class VersionWorker : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TaskResult.FromText(
                $"{typeof(JsonConvert).Assembly.GetName().Version} {JsonConvert.SerializeObject(new { task = request.TaskId })}"));
    }
}
