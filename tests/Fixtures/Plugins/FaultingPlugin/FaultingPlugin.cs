using ParallelFlow.Sdk;

namespace ParallelFlow.Fixtures;

/// <summary>Fails on purpose, as its "mode" setting says: "register" throws after registering one worker;
/// "run" registers a worker that throws when it runs.</summary>
public sealed class FaultingPlugin : ParallelFlowPlugin
{
    public override void Register(IPluginRegistrar registrar)
    {
        var mode = registrar.Settings.TryGetProperty("mode", out var value) ? value.GetString() : "run";
        registrar.AddWorker(mode == "register" ? "half-registered" : "explodes", new ExplodingWorker());
        if (mode == "register")
        {
            throw new InvalidOperationException("registration refused by design");
        }
    }

    private sealed class ExplodingWorker : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            throw new FatalTaskException($"the exploding worker exploded on '{request.TaskId}'");
    }
}
