using System.Text.Json;

namespace ParallelFlow.Engine.Workers;

/// <summary>A worker's reported usage as JSON, the same in run reports and decision records.</summary>
internal static class UsageJson
{
    /// <summary>Writes <c>usage</c> when a worker reported any.</summary>
    public static void Write(Sdk.TaskUsage usage, Utf8JsonWriter writer)
    {
        if (usage == default)
        {
            return;
        }

        writer.WriteStartObject("usage");
        writer.WriteNumber("input_tokens", usage.InputTokens);
        writer.WriteNumber("output_tokens", usage.OutputTokens);
        writer.WriteNumber("cost", usage.Cost);
        writer.WriteEndObject();
    }
}
