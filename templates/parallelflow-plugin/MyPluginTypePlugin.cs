using ParallelFlow.Sdk;

namespace MyPlugin;

/// <summary>Registers this plugin's workers; settings from plugins.json arrive as <c>registrar.Settings</c>.</summary>
public sealed class MyPluginTypePlugin : ParallelFlowPlugin
{
    /// <inheritdoc/>
    public override void Register(IPluginRegistrar registrar)
    {
        ArgumentNullException.ThrowIfNull(registrar);
        registrar.AddWorker("my-worker", new MyPluginTypeWorker());
    }
}
