using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Process;

/// <summary>Registers the <c>process</c> worker.</summary>
public sealed class ProcessPlugin : ParallelFlowPlugin
{
    /// <inheritdoc/>
    public override void Register(IPluginRegistrar registrar)
    {
        ArgumentNullException.ThrowIfNull(registrar);
        // Processes left by a host that was killed before it could end them go now, before new ones start.
        ProcessTree.SweepOrphans();
        registrar.AddWorker(ProcessWorker.Name, new ProcessWorker());
    }
}
