using System.Text.Json;

namespace ParallelFlow.Engine.Plans;

/// <summary>A value read from a plan file, with where it stood. JSON and YAML files both read into these,
/// so one binder checks both and every error can name its line and column.</summary>
internal abstract class PlanNode(SourcePosition position)
{
    public SourcePosition Position { get; } = position;

    public abstract string KindName { get; }

    public abstract void WriteTo(Utf8JsonWriter writer);

    public JsonElement ToJsonElement()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteTo(writer);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
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
