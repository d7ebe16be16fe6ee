using ParallelFlow.LocalModel;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.SemanticKernel;

/// <summary>
/// Registers the <c>llm</c> and <c>embed</c> workers over the models of the plugin's settings:
/// <c>{ "models": { "name": { "provider": "local" | "openai" | "azure-openai" | "openai-compatible", ... } },
/// "default_model": "name", "model_cache": "folder" }</c>. Without <c>models</c>, the offline stories15M model is
/// offered at f32, q8 and q4 as <c>stories15m</c>, <c>stories15m-q8</c> and <c>stories15m-q4</c>.
/// </summary>
public sealed class SemanticKernelPlugin : ParallelFlowPlugin
{
    /// <inheritdoc/>
    public override void Register(IPluginRegistrar registrar)
    {
        ArgumentNullException.ThrowIfNull(registrar);
        var settings = registrar.Settings;
        var models = ModelSettings.ParseAll(settings);
        var defaultModel = settings.ValueKind == System.Text.Json.JsonValueKind.Object && settings.TryGetProperty("default_model", out var d) ? d.GetString() : null;
        defaultModel ??= models.Keys.First();
        if (!models.ContainsKey(defaultModel))
        {
            throw new InvalidOperationException($"default_model '{defaultModel}' is not one of the models ({string.Join(", ", models.Keys)})");
        }

        // The keys these models read: whatever path a key takes (a server echoing it in an error), the engine masks it.
        foreach (var variable in models.Values.Select(m => m.ApiKeyEnv).OfType<string>().Distinct(StringComparer.Ordinal))
        {
            registrar.AddSecretVariable(variable);
        }

        var cache = settings.ValueKind == System.Text.Json.JsonValueKind.Object && settings.TryGetProperty("model_cache", out var c) ? c.GetString() : null;
        var registry = new ModelRegistry(models, defaultModel, new ModelStore(cache), registrar.LoggerFactory);
        registrar.AddWorker("llm", new LlmWorker(registry));
        registrar.AddWorker("embed", new EmbedWorker(registry));
        if (models[defaultModel].Provider == Provider.Local)
        {
            // Context limits count the local model's own tokens: its tokenizer, fetched with the model on first use.
            registrar.SetTokenCounter(new LocalTokenCounter(new ModelStore(cache)).Count);
        }
    }
}
