using System.Text.Json;
using System.Text.RegularExpressions;

namespace ParallelFlow.Engine.Plans;

/// <summary>
/// A plan's inputs at work: where tasks use them (<c>{{inputs.NAME}}</c> in a string of a task's <c>with</c>), what a
/// run supplied checked against what the plan declares, and a task's parameters with the values put in. A string
/// that is nothing but one reference takes the value as it is (a number stays a number, an object an object); a
/// reference inside longer text is replaced by the value's text.
/// </summary>
internal static partial class PlanInputs
{
    public static readonly string[] TypeNames = ["string", "number", "boolean", "object", "array"];

    public static string NameOf(PlanInputType type) => TypeNames[(int)type];

    /// <summary>An input as <c>plan</c> and <c>validate</c> list it: <c>topic: string, required — what it is for</c>.</summary>
    public static string Describe(PlanInput input) =>
        $"{input.Name}: {NameOf(input.Type)}{(input.IsRequired ? ", required" : $", default {input.Default!.Value.GetRawText()}")}{(input.Description.Length == 0 ? "" : $" — {input.Description}")}";

    /// <summary>Whether a task's parameters use any input.</summary>
    public static bool Uses(JsonElement with) => References(with, string.Empty).Any();

    /// <summary>Every input reference in a task's parameters: the path of the string it sits in (relative to
    /// <c>with</c>, e.g. <c>.prompt</c> or <c>.args[1]</c>) and the input's name.</summary>
    public static IEnumerable<(string Path, string Name)> References(JsonElement value, string path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                foreach (Match match in Reference().Matches(value.GetString()!))
                {
                    yield return (path, match.Groups[1].Value);
                }

                break;
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    foreach (var reference in References(property.Value, $"{path}.{property.Name}"))
                    {
                        yield return reference;
                    }
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    foreach (var reference in References(item, $"{path}[{index++}]"))
                    {
                        yield return reference;
                    }
                }

                break;
        }
    }

    /// <summary>Checks the declarations (a default of the declared type) and that tasks use only declared inputs.</summary>
    public static void Check(PlanDefinition plan, List<PlanError> errors)
    {
        var map = plan.SourceMap;
        foreach (var input in plan.Inputs.Values)
        {
            if (input.Default is { } value && !IsOfType(value, input.Type))
            {
                errors.Add(map.Error(PlanError.InputCode, $"inputs.{input.Name}.default",
                    $"input '{DisplayText.Shorten(input.Name)}': the default must be {Article(input.Type)}; got {Describe(value)}"));
            }
            else if (input.Default is not null && input.Required)
            {
                errors.Add(map.Error(PlanError.InputCode, $"inputs.{input.Name}.required",
                    $"input '{DisplayText.Shorten(input.Name)}' is required and has a default, which would never be used: drop one of them"));
            }
        }

        var known = plan.Inputs.Keys.ToList();
        for (var i = 0; i < plan.Tasks.Count; i++)
        {
            var task = plan.Tasks[i];
            foreach (var (path, name) in References(task.With, string.Empty).Where(r => !plan.Inputs.ContainsKey(r.Name)))
            {
                var suggestion = Sdk.Suggestions.Closest(name, known);
                var declared = known.Count == 0 ? " The plan declares no inputs: add them under 'inputs'." : $" Inputs: {string.Join(", ", known)}";
                errors.Add(map.Error(PlanError.InputCode, $"tasks[{i}].with{path}",
                    $"task '{DisplayText.Shorten(task.Id)}': {{{{inputs.{DisplayText.Shorten(name)}}}}} names no input of this plan{(suggestion is null ? "." : $". Did you mean '{suggestion}'?")}{declared}",
                    task.Id));
            }
        }
    }

    /// <summary>The value of every input for one run: what the run supplied, else the default. Unknown names, missing
    /// required inputs and values of the wrong type are errors, all reported at once.</summary>
    /// <exception cref="PlanValidationException">The supplied inputs do not fit the plan.</exception>
    public static IReadOnlyDictionary<string, JsonElement> Resolve(PlanDefinition plan, IReadOnlyDictionary<string, JsonElement>? supplied,
        Diagnostics.SecretRedactor? secrets = null, IReadOnlyDictionary<string, string>? suppliedFrom = null)
    {
        var planSource = plan.SourceFile ?? plan.Id;
        var errors = new List<PlanError>();
        var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var known = plan.Inputs.Keys.ToList();
        foreach (var (name, value) in supplied ?? new Dictionary<string, JsonElement>())
        {
            // A value's problem is reported against where it came from (an inputs file), else the plan.
            var source = suppliedFrom?.GetValueOrDefault(name) ?? planSource;
            if (!plan.Inputs.TryGetValue(name, out var input))
            {
                var suggestion = Sdk.Suggestions.Closest(name, known);
                errors.Add(new PlanError(PlanError.InputCode,
                    $"unknown input '{DisplayText.Shorten(name)}'{(suggestion is null ? "." : $". Did you mean '{suggestion}'?")} {(known.Count == 0 ? "The plan takes no inputs." : $"The plan's inputs: {string.Join(", ", known)}")}",
                    source, null, null));
            }
            else if (!IsOfType(value, input.Type))
            {
                errors.Add(new PlanError(PlanError.InputCode, $"input '{name}' must be {Article(input.Type)}; got {Describe(value)}", source, null, null));
            }
            else if (secrets is { IsEmpty: false } && secrets.Redact(value.GetRawText()) != value.GetRawText())
            {
                // A run's inputs are kept in its report and its journal (to resume with): a secret has no place there.
                errors.Add(new PlanError(PlanError.InputCode,
                    $"input '{name}' holds the value of a secret variable; secrets reach workers from the environment, never as inputs, so that no report or journal keeps them",
                    source, null, null));
            }
            else
            {
                values[name] = value.Clone();
            }
        }

        foreach (var input in plan.Inputs.Values.Where(i => supplied?.ContainsKey(i.Name) != true))
        {
            if (input.IsRequired)
            {
                errors.Add(Missing(input, planSource));
            }
            else
            {
                values[input.Name] = input.Default!.Value;
            }
        }

        return errors.Count > 0 ? throw new PlanValidationException(errors) : values;
    }

    private static PlanError Missing(PlanInput input, string source) =>
        new(PlanError.InputCode,
            $"input '{input.Name}' is required ({NameOf(input.Type)}{(input.Description.Length == 0 ? "" : $": {DisplayText.Shorten(input.Description)}")}); supply it with --input {input.Name}=VALUE, in an --inputs file, or in RunOptions.Inputs",
            source, null, null);

    /// <summary>A task's parameters with every input reference replaced by its value.</summary>
    public static JsonElement Substitute(JsonElement with, IReadOnlyDictionary<string, JsonElement> values)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(with, writer, values);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private static void Write(JsonElement value, Utf8JsonWriter writer, IReadOnlyDictionary<string, JsonElement> values)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var text = value.GetString()!;
                var whole = Reference().Match(text);
                if (whole.Success && whole.Length == text.Length && values.TryGetValue(whole.Groups[1].Value, out var exact))
                {
                    exact.WriteTo(writer);
                }
                else
                {
                    writer.WriteStringValue(Reference().Replace(text, m => values.TryGetValue(m.Groups[1].Value, out var v) ? Text(v) : m.Value));
                }

                break;
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in value.EnumerateObject())
                {
                    writer.WritePropertyName(property.Name);
                    Write(property.Value, writer, values);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in value.EnumerateArray())
                {
                    Write(item, writer, values);
                }

                writer.WriteEndArray();
                break;
            default:
                value.WriteTo(writer);
                break;
        }
    }

    /// <summary>A value as text inside a longer string: a string as it is, anything else as JSON.</summary>
    private static string Text(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

    /// <summary>Reads a value given on a command line (<c>--input NAME=VALUE</c>) as the input's type: a string as it
    /// is; a number, true/false, an object or a list as JSON.</summary>
    /// <returns>The value, or null with a reason when it is not of the type.</returns>
    public static (JsonElement? Value, string? Problem) Parse(string text, PlanInputType type)
    {
        if (type == PlanInputType.String)
        {
            return (Diagnostics.EngineJson.Element(text), null);
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            var value = document.RootElement.Clone();
            return IsOfType(value, type) ? (value, null) : (null, $"must be {Article(type)}; got {Describe(value)}");
        }
        catch (JsonException)
        {
            return (null, $"must be {Article(type)}; got '{DisplayText.Shorten(text)}'");
        }
    }

    public static bool IsOfType(JsonElement value, PlanInputType type) => type switch
    {
        PlanInputType.String => value.ValueKind == JsonValueKind.String,
        PlanInputType.Number => value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) && double.IsFinite(number),
        PlanInputType.Boolean => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        PlanInputType.Object => value.ValueKind == JsonValueKind.Object,
        PlanInputType.Array => value.ValueKind == JsonValueKind.Array,
        _ => false,
    };

    private static string Article(PlanInputType type) => type switch
    {
        PlanInputType.Object => "an object",
        PlanInputType.Array => "a list",
        PlanInputType.Boolean => "true or false",
        _ => $"a {NameOf(type)}",
    };

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the text '{DisplayText.Shorten(value.GetString()!)}'",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.Null => "null",
        _ => DisplayText.Shorten(value.GetRawText()),
    };

    [GeneratedRegex(@"\{\{\s*inputs\.([A-Za-z_][A-Za-z0-9_\-]*)\s*\}\}")]
    private static partial Regex Reference();
}
