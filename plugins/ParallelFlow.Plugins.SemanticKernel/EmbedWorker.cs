using System.Text.Json;
using Microsoft.Extensions.AI;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.SemanticKernel;

/// <summary>The <c>embed</c> worker: the embedding of <c>text</c> from a named model, as a JSON array of numbers.</summary>
internal sealed class EmbedWorker(ModelRegistry registry) : ParallelFlowWorker<EmbedWorker.Parameters>
{
    /// <summary>What to embed (the task's description when absent) and with which model.</summary>
    internal sealed record Parameters(string? Text, string Model);

    protected override Parameters Bind(ParameterReader reader)
    {
        var model = reader.Text("model");
        if (model is not null && !registry.Models.ContainsKey(model))
        {
            reader.Problem("model", $"unknown model '{model}'. The models are {string.Join(", ", registry.Models.Keys)}");
        }

        return new Parameters(reader.Text("text"), model ?? registry.DefaultModel);
    }

    /// <summary>A model call costs money and time: the same prompt and settings are served from the cache when a run has one.</summary>
    public override bool IsDeterministic => true;

    /// <summary>Traced as a GenAI embeddings call.</summary>
    public override string? ModelOperation => "embeddings";

    protected override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, Parameters parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(parameters);
        var text = parameters.Text ?? request.Description;
        var generator = registry.Embedder(parameters.Model);
        using var fetching = ParallelFlow.LocalModel.ModelStore.ReportFetchTo(request.Progress);
        var embedding = await generator.GenerateAsync(text, cancellationToken: cancellationToken).ConfigureAwait(false);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartArray();
            foreach (var value in embedding.Vector.Span)
            {
                writer.WriteNumberValue(value);
            }

            writer.WriteEndArray();
        }

        return new TaskResult { Json = JsonDocument.Parse(stream.ToArray()).RootElement.Clone(), Model = registry.Models[parameters.Model].ModelId ?? parameters.Model };
    }
}
