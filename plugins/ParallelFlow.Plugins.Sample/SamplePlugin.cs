using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Sample;

/// <summary>Registers the sample's worker, scorer and scheduling strategy. The <c>greeting</c> setting from plugins.json is handed
/// to the worker.</summary>
public sealed class SamplePlugin : ParallelFlowPlugin
{
    /// <inheritdoc/>
    public override void Register(IPluginRegistrar registrar)
    {
        ArgumentNullException.ThrowIfNull(registrar);
        var greeting = registrar.Settings.TryGetProperty("greeting", out var value) ? value.GetString() ?? "Hello" : "Hello";
        registrar.AddWorker("greet", new GreetWorker(greeting));
        registrar.AddScorer("shortest", new ShortestAnswerScorer());
        registrar.AddMerger("key-values", new KeyValueMerger());
        registrar.AddStrategy("fan_out_first", new FanOutFirstStrategy());
    }
}
