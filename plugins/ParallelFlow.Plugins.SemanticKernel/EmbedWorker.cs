using System.Text.Json;
using Microsoft.Extensions.AI;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.SemanticKernel;

/// <summary>The <c>embed</c> worker: the embedding of <c>text</c> from a named model, as a JSON array of numbers.</summary>
internal sealed class EmbedWorker(ModelRegistry registry) : ParallelFlowWorker
{
    public override IReadOnlyList<ParameterProblem> ValidateParameters(JsonElement parameters)
    {
        var problems = new List<ParameterProblem>();
        if (parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("model", out var model)
            && (model.ValueKind != JsonValueKind.String || !registry.Models.ContainsKey(model.GetString()!)))
        {
            problems.Add(new ParameterProblem("model", $"unknown model {model}. The models are {string.Join(", ", registry.Models.Keys)}"));
        }

        return problems;
    }

    /// <summary>A model call costs money and time: the same prompt and settings are served from the cache when a run has one.</summary>
    public override bool IsDeterministic => true;

    public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var text = request.GetString("text") ?? request.Description;
        var generator = registry.Embedder(request.GetString("model") ?? registry.DefaultModel);
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

        return TaskResult.FromJson(JsonDocument.Parse(stream.ToArray()).RootElement);
    }
}
