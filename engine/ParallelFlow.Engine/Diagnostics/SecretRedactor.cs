using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Diagnostics;

/// <summary>
/// Replaces the values of secret environment variables (the <c>api_key_env</c> of a model, any variable a plugin or
/// host declares secret) by <c>***</c> in what a run keeps and shows: task outputs, errors, decision records, events
/// and logs — and so in reports, summaries and the journal, whatever path the value took (a server that echoes the
/// key in an error body, a program that prints its environment).
/// </summary>
/// <remarks>Values are read from the environment when a variable is declared and again when a run starts. Values
/// shorter than <see cref="MinLength"/> characters are not replaced: hiding every "1" would make output unreadable, and
/// such a value is no key.</remarks>
internal sealed class SecretRedactor
{
    public const string Mask = "***";

    public const int MinLength = 8;

    private readonly Lock _gate = new();
    private readonly HashSet<string> _variables = new(StringComparer.Ordinal);
    private volatile string[] _values = [];

    public IReadOnlyCollection<string> Variables
    {
        get
        {
            lock (_gate)
            {
                return [.. _variables];
            }
        }
    }

    public bool IsEmpty => _values.Length == 0;

    public void AddVariable(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        lock (_gate)
        {
            _variables.Add(name);
        }

        Refresh();
    }

    /// <summary>Reads the variables' values again.</summary>
    public void Refresh()
    {
        string[] variables;
        lock (_gate)
        {
            if (_variables.Count == 0)
            {
                return;
            }

            variables = [.. _variables];
        }

        _values = [.. variables
            .Select(Environment.GetEnvironmentVariable)
            .OfType<string>()
            .Where(v => v.Length >= MinLength)
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(v => v.Length)];
    }

    public string Redact(string text)
    {
        foreach (var value in _values)
        {
            if (text.Contains(value, StringComparison.Ordinal))
            {
                text = text.Replace(value, Mask, StringComparison.Ordinal);
            }
        }

        return text;
    }

    public string? RedactOrNull(string? text) => text is null || IsEmpty ? text : Redact(text);

    /// <summary>The result with every secret masked in its text, JSON and decision record; the same instance when none
    /// holds one.</summary>
    public TaskResult? Redact(TaskResult? result)
    {
        if (result is null || IsEmpty)
        {
            return result;
        }

        var text = RedactOrNull(result.Text);
        var json = Redact(result.Json);
        var record = Redact(result.Record);
        return ReferenceEquals(text, result.Text) && json is null && record is null
            ? result
            : new TaskResult
            {
                Text = text,
                Json = json ?? result.Json,
                Artifacts = result.Artifacts,
                Usage = result.Usage,
                Record = record ?? result.Record,
                Model = result.Model,
            };
    }

    /// <summary>A masked copy of the element, or null when none of its strings (names included) holds a secret. Strings
    /// are compared unescaped, so a key written <c>a\/b</c> in the JSON is still found. Never throws: JSON the node
    /// model cannot hold (duplicate names, extreme depth) is masked as text, or replaced by a masked string.</summary>
    private JsonElement? Redact(JsonElement? element)
    {
        if (element is not { } value || !HoldsSecret(value))
        {
            return null;
        }

        try
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(value.GetRawText(), documentOptions: new JsonDocumentOptions { MaxDepth = NodeDepth });
            return EngineJson.Element(MaskNode(node), NodeDepth);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or JsonException)
        {
            var text = Redact(value.GetRawText());
            try
            {
                using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = NodeDepth });
                return document.RootElement.Clone();
            }
            catch (JsonException)
            {
                return EngineJson.Element(Redact(value.ToString()));
            }
        }
    }

    private const int NodeDepth = 1024;

    /// <summary>Whether a string of the element, or a property name, holds a secret once unescaped.</summary>
    private bool HoldsSecret(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => Holds(value.GetString()!),
        JsonValueKind.Object => value.EnumerateObject().Any(p => Holds(p.Name) || HoldsSecret(p.Value)),
        JsonValueKind.Array => value.EnumerateArray().Any(HoldsSecret),
        _ => false,
    };

    private bool Holds(string text) => _values.Any(v => text.Contains(v, StringComparison.Ordinal));

    private System.Text.Json.Nodes.JsonNode? MaskNode(System.Text.Json.Nodes.JsonNode? node)
    {
        switch (node)
        {
            case System.Text.Json.Nodes.JsonObject obj:
                var masked = new System.Text.Json.Nodes.JsonObject();
                foreach (var (name, child) in obj.ToList())
                {
                    obj.Remove(name);
                    masked[Redact(name)] = MaskNode(child);
                }

                return masked;
            case System.Text.Json.Nodes.JsonArray array:
                var items = array.ToList();
                array.Clear();
                return new System.Text.Json.Nodes.JsonArray([.. items.Select(MaskNode)]);
            case System.Text.Json.Nodes.JsonValue text when text.GetValueKind() == JsonValueKind.String:
                return System.Text.Json.Nodes.JsonValue.Create(Redact(text.GetValue<string>()));
            default:
                return node;
        }
    }
}
