using System.Globalization;
using System.Text.Json;

namespace ParallelFlow.ModelServer;

/// <summary>What <c>serve-model</c> checks in a request before it generates: each known field's type and range, the
/// message naming the field, as an OpenAI-compatible server answers with 400. Fields it does not use are ignored, as
/// clients send many.</summary>
internal static class RequestCheck
{
    /// <summary>The most tokens one request may ask for; the model stops at its context length anyway.</summary>
    public const int MaxTokens = 4096;

    private const int MaxItems = 1024;

    /// <summary>The problem with a chat or text completion request, or null.</summary>
    public static string? Generation(JsonElement request, bool chat) =>
        Model(request)
        ?? (chat ? Messages(request) : Optional(request, "prompt", JsonValueKind.String, "a string"))
        ?? Range(request, "temperature", 0, 2)
        ?? Range(request, "top_p", 0, 1, aboveMinimum: true)
        ?? Whole(request, "max_tokens", 1, MaxTokens)
        ?? Whole(request, "max_completion_tokens", 1, MaxTokens)
        ?? Whole(request, "seed", 0, long.MaxValue)
        ?? Whole(request, "n", 1, 1)
        ?? Boolean(request, "stream");

    /// <summary>The problem with an embeddings request, or null.</summary>
    public static string? Embedding(JsonElement request)
    {
        if (Model(request) is { } problem)
        {
            return problem;
        }

        if (!request.TryGetProperty("input", out var input))
        {
            return "'input' is required: a string or a list of strings";
        }

        return input.ValueKind switch
        {
            JsonValueKind.String => null,
            JsonValueKind.Array when input.GetArrayLength() is 0 or > MaxItems => $"'input' must hold 1 to {MaxItems} strings; got {input.GetArrayLength()}",
            JsonValueKind.Array when input.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String) => null,
            _ => $"'input' must be a string or a list of strings; got {Kind(input)}",
        };
    }

    private static string? Model(JsonElement request) =>
        !request.TryGetProperty("model", out var model) ? "'model' is required: the name of a model (GET /v1/models lists them)"
        : model.ValueKind != JsonValueKind.String || model.GetString()!.Length == 0 ? $"'model' must be a model's name; got {Kind(model)}"
        : null;

    private static string? Messages(JsonElement request)
    {
        if (!request.TryGetProperty("messages", out var messages))
        {
            return "'messages' is required: a list of { role, content }";
        }

        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() is 0 or > MaxItems)
        {
            return $"'messages' must be a list of 1 to {MaxItems} messages; got {Kind(messages)}";
        }

        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object)
            {
                return $"'messages[{index}]' must be an object with role and content; got {Kind(message)}";
            }

            if (!message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
            {
                return $"'messages[{index}].role' must be a string (system, user or assistant)";
            }

            if (message.TryGetProperty("content", out var content) && content.ValueKind is not (JsonValueKind.String or JsonValueKind.Array or JsonValueKind.Null))
            {
                return $"'messages[{index}].content' must be a string or a list of parts; got {Kind(content)}";
            }

            if (content.ValueKind == JsonValueKind.Array)
            {
                var part = 0;
                foreach (var item in content.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                    {
                        return $"'messages[{index}].content[{part}]' must be an object with a 'type'; got {Kind(item)}";
                    }

                    if (type.ValueEquals("text") && (!item.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String))
                    {
                        return $"'messages[{index}].content[{part}].text' must be a string";
                    }

                    part++;
                }
            }

            index++;
        }

        return null;
    }

    private static string? Optional(JsonElement request, string name, JsonValueKind kind, string expected) =>
        request.TryGetProperty(name, out var value) && value.ValueKind != kind && value.ValueKind != JsonValueKind.Null
            ? $"'{name}' must be {expected}; got {Kind(value)}"
            : null;

    private static string? Boolean(JsonElement request, string name) =>
        request.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null)
            ? $"'{name}' must be true or false; got {Kind(value)}"
            : null;

    private static string? Range(JsonElement request, string name, double min, double max, bool aboveMinimum = false)
    {
        if (!request.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var range = string.Create(CultureInfo.InvariantCulture, $"{(aboveMinimum ? "greater than" : "at least")} {min} and at most {max}");
        return value.ValueKind != JsonValueKind.Number ? $"'{name}' must be a number {range}; got {Kind(value)}"
            : !value.TryGetDouble(out var number) || !double.IsFinite(number) || number < min || (aboveMinimum && number <= min) || number > max
                ? $"'{name}' must be a number {range}; got {Shown(value)}"
            : null;
    }

    private static string? Whole(JsonElement request, string name, long min, long max)
    {
        if (!request.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var range = string.Create(CultureInfo.InvariantCulture, $"a whole number from {min} to {max}");
        return value.ValueKind != JsonValueKind.Number ? $"'{name}' must be {range}; got {Kind(value)}"
            : !value.TryGetInt64(out var number) || number < min || number > max ? $"'{name}' must be {range}; got {Shown(value)}"
            : null;
    }

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"the number {Shown(value)}",
        JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        JsonValueKind.Array => "a list",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    private static string Shown(JsonElement value)
    {
        var text = value.GetRawText();
        return text.Length <= 40 ? text : text[..40] + "…";
    }
}
