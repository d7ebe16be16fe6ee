using System.Text.Json;

namespace ParallelFlow.Plugins.Voting;

/// <summary>Building the parameters handed to judge, embedding and synthesis workers.</summary>
internal static class Parameters
{
    /// <summary>A copy of <paramref name="parameters"/> (an object, or nothing) with <paramref name="key"/> set to <paramref name="value"/>.</summary>
    public static JsonElement With(JsonElement parameters, string key, string value)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            if (parameters.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in parameters.EnumerateObject().Where(p => p.Name != key))
                {
                    property.WriteTo(writer);
                }
            }

            writer.WriteString(key, value);
            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(stream.ToArray());
        return document.RootElement.Clone();
    }
}
