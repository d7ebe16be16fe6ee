using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace ParallelFlow.Engine.Diagnostics;

/// <summary>JSON values the engine makes itself, written without reflection, so that a trimmed or natively compiled
/// host runs the same code.</summary>
internal static class EngineJson
{
    /// <summary>A string as a JSON value.</summary>
    public static JsonElement Element(string text) => JsonSerializer.SerializeToElement(text, EngineJsonContext.Default.String);

    /// <summary>A node (an object built with <see cref="JsonObject"/>, say) as a JSON value.</summary>
    /// <param name="node">The node; null is JSON's null.</param>
    /// <param name="maxDepth">How deeply the node may nest: 64 unless the node came from deeper JSON.</param>
    public static JsonElement Element(JsonNode? node, int maxDepth = 64)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { MaxDepth = maxDepth }))
        {
            if (node is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                node.WriteTo(writer);
            }
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory, new JsonDocumentOptions { MaxDepth = maxDepth });
        return document.RootElement.Clone();
    }

    /// <summary>A value as compact JSON text (no whitespace between tokens).</summary>
    public static string Compact(JsonElement value) => JsonSerializer.Serialize(value, EngineJsonContext.Default.JsonElement);
}

/// <summary>The types <see cref="EngineJson"/> serialises, with their serialisation generated at compile time.</summary>
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class EngineJsonContext : JsonSerializerContext;
