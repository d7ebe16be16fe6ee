using Microsoft.Extensions.AI;
using ParallelFlow.LocalModel;

namespace ParallelFlow.Plugins.SemanticKernel;

/// <summary>The offline model's mean hidden state as an embedding generator, so consensus by embeddings works offline too.</summary>
internal sealed class LocalEmbeddingGenerator(string modelId, Func<CancellationToken, Task<Llama2Model>> model) : IEmbeddingGenerator<string, Embedding<float>>
{
    public EmbeddingGeneratorMetadata Metadata { get; } = new("parallelflow-local", defaultModelId: modelId);

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var loaded = await model(cancellationToken).ConfigureAwait(false);
        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var value in values)
        {
            var vector = await Task.Run(() => Llama2Generator.Embed(loaded, value), cancellationToken).ConfigureAwait(false);
            result.Add(new Embedding<float>(vector) { ModelId = modelId });
        }

        return result;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
