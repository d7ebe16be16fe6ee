using System.Text.Json;

namespace ParallelFlow.Engine.Plans;

/// <summary>Writes a copy of a JSON value, optionally with object keys sorted and every string mapped.</summary>
internal static class JsonCopy
{
    public static void Write(JsonElement value, Utf8JsonWriter writer, bool sortKeys, Func<string, string>? mapString = null)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                var properties = value.EnumerateObject();
                foreach (var property in sortKeys ? properties.OrderBy(p => p.Name, StringComparer.Ordinal) : properties.AsEnumerable())
                {
                    writer.WritePropertyName(property.Name);
                    Write(property.Value, writer, sortKeys, mapString);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in value.EnumerateArray())
                {
                    Write(item, writer, sortKeys, mapString);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String when mapString is not null:
                writer.WriteStringValue(mapString(value.GetString()!));
                break;
            case JsonValueKind.Undefined:
                writer.WriteNullValue();
                break;
            default:
                value.WriteTo(writer);
                break;
        }
    }
}
