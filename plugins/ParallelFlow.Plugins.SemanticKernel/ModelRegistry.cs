using System.ClientModel;
using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.AzureOpenAI;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using OpenAI;
using ParallelFlow.LocalModel;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.SemanticKernel;

/// <summary>
/// The plugin's named models and the Semantic Kernel services behind them, built on first use. Keys are read from
/// the environment at that moment and kept only inside the connector.
/// </summary>
internal sealed class ModelRegistry(IReadOnlyDictionary<string, ModelSettings> models, string defaultModel, ModelStore store, ILoggerFactory loggerFactory)
{
    private readonly ConcurrentDictionary<string, Lazy<IChatCompletionService>> _chat = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<IEmbeddingGenerator<string, Embedding<float>>>> _embedders = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, ModelSettings> Models => models;

    public string DefaultModel => defaultModel;

    public ModelSettings Get(string name) =>
        models.TryGetValue(name, out var model)
            ? model
            : throw new FatalTaskException($"there is no model named '{name}'; the models are {string.Join(", ", models.Keys)}");

    public IChatCompletionService Chat(string name)
    {
        var model = Get(name);
        return Build(_chat, name, () => model.Provider switch
        {
            Provider.Local => new LocalChatCompletionService(name, ct => LoadLocalAsync(model, ct)),
            Provider.OpenAI => new OpenAIChatCompletionService(model.ModelId!, Key(model)!, loggerFactory: loggerFactory),
            Provider.AzureOpenAI => new AzureOpenAIChatCompletionService(model.Deployment!, model.Endpoint!, Key(model)!, model.ModelId, loggerFactory: loggerFactory),
            _ => new OpenAIChatCompletionService(model.ModelId ?? name, new Uri(model.Endpoint!), Key(model) ?? "unused", loggerFactory: loggerFactory),
        });
    }

    public IEmbeddingGenerator<string, Embedding<float>> Embedder(string name)
    {
        var model = Get(name);
        return Build(_embedders, name, () =>
        {
            if (model.Provider == Provider.Local)
            {
                return new LocalEmbeddingGenerator(name, ct => LoadLocalAsync(model, ct));
            }

            var builder = Kernel.CreateBuilder();
            if (model.Provider == Provider.AzureOpenAI)
            {
                builder.AddAzureOpenAIEmbeddingGenerator(model.Deployment!, model.Endpoint!, Key(model)!, model.ModelId);
            }
            else
            {
                var options = new OpenAIClientOptions();
                if (model.Endpoint is { } endpoint)
                {
                    options.Endpoint = new Uri(endpoint);
                }

                builder.AddOpenAIEmbeddingGenerator(model.ModelId ?? name, new OpenAIClient(new ApiKeyCredential(Key(model) ?? "unused"), options));
            }

            return builder.Build().GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        });
    }

    private static T Build<T>(ConcurrentDictionary<string, Lazy<T>> cache, string name, Func<T> create)
    {
        var lazy = cache.GetOrAdd(name, _ => new Lazy<T>(create));
        try
        {
            return lazy.Value;
        }
        catch
        {
            cache.TryRemove(name, out _);
            throw;
        }
    }

    /// <summary>The key from the model's environment variable; an error that names the variable (never a value) when it is unset.</summary>
    private static string? Key(ModelSettings model)
    {
        if (model.ApiKeyEnv is null)
        {
            return null;
        }

        var key = Environment.GetEnvironmentVariable(model.ApiKeyEnv);
        return string.IsNullOrEmpty(key)
            ? throw new FatalTaskException($"model '{model.Name}' reads its key from the environment variable {model.ApiKeyEnv}, which is not set")
            : key;
    }

    private async Task<Llama2Model> LoadLocalAsync(ModelSettings model, CancellationToken cancellationToken)
    {
        var files = model.ModelPath is not null
            ? new ModelFiles(model.ModelPath, model.TokenizerPath!)
            : await store.EnsureStories15MAsync(cancellationToken).ConfigureAwait(false);
        return await Task.Run(() => ModelStore.Load(files, model.Precision), cancellationToken).ConfigureAwait(false);
    }
}
