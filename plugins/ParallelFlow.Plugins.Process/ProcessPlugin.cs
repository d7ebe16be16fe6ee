using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Process;

/// <summary>Registers the <c>process</c> worker.</summary>
public sealed class ProcessPlugin : ParallelFlowPlugin
{
    /// <inheritdoc/>
    public override void Register(IPluginRegistrar registrar)
    {
        ArgumentNullException.ThrowIfNull(registrar);
        registrar.AddWorker(ProcessWorker.Name, new ProcessWorker());
    }
}
