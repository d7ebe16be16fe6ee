using System.Text.Json;

namespace ParallelFlow.Engine.Plans;

/// <summary>A value read from a plan file, with where it stood. JSON and YAML files both read into these,
/// so one binder checks both and every error can name its line and column.</summary>
internal abstract class PlanNode(SourcePosition position)
{
    public SourcePosition Position { get; } = position;

    public abstract string KindName { get; }

    public abstract void WriteTo(Utf8JsonWriter writer);

    /// <summary>This value as JSON, once <see cref="ParseAll"/> has parsed it with its siblings.</summary>
    public JsonElement? Parsed { get; private set; }

    /// <summary>The value as a JSON element of its own.</summary>
    public JsonElement ToJsonElement() => Parsed ?? ParseAll([this])[0];

    /// <summary>Parses many values (every task's <c>with</c>) into one document: one allocation for them all instead
    /// of a document each, which for a plan of a million tasks is the difference between seconds and a minute.</summary>
    public static IReadOnlyList<JsonElement> ParseAll(IReadOnlyList<PlanNode> nodes)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var node in nodes)
            {
                node.WriteTo(writer);
            }

            writer.WriteEndArray();
        }

        var reader = new Utf8JsonReader(buffer.WrittenSpan, new JsonReaderOptions { MaxDepth = 256 });
        var elements = new JsonElement[nodes.Count];
        var i = 0;
        foreach (var element in JsonElement.ParseValue(ref reader).EnumerateArray())
        {
            nodes[i].Parsed = element;
            elements[i++] = element;
        }

        return elements;
    }
}

internal sealed class ObjectNode(SourcePosition position) : PlanNode(position)
{
    public List<PropertyNode> Properties { get; } = [];

    public override string KindName => "an object";

    public PropertyNode? Find(string key) => Properties.Find(p => p.Key == key);

    public override void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var property in Properties)
        {
            writer.WritePropertyName(property.Key);
            property.Value.WriteTo(writer);
        }

        writer.WriteEndObject();
    }
}

internal sealed record PropertyNode(string Key, SourcePosition KeyPosition, PlanNode Value);

internal sealed class ArrayNode(SourcePosition position) : PlanNode(position)
{
    public List<PlanNode> Items { get; } = [];

    public override string KindName => "a list";

    public override void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartArray();
        foreach (var item in Items)
        {
            item.WriteTo(writer);
        }

        writer.WriteEndArray();
    }
}

internal enum ScalarKind
{
    String,
    Number,
    Boolean,
    Null,
}

internal sealed class ScalarNode(SourcePosition position, ScalarKind kind, string text) : PlanNode(position)
{
    public ScalarKind Kind { get; } = kind;

    public string Text { get; } = text;

    public override string KindName => Kind switch
    {
        ScalarKind.String => "a string",
        ScalarKind.Number => "a number",
        ScalarKind.Boolean => "true/false",
        _ => "null",
    };

    public override void WriteTo(Utf8JsonWriter writer)
    {
        switch (Kind)
        {
            case ScalarKind.String:
                writer.WriteStringValue(Text);
                break;
            case ScalarKind.Number:
                writer.WriteRawValue(Text);
                break;
            case ScalarKind.Boolean:
                writer.WriteBooleanValue(Text == "true");
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }
}
