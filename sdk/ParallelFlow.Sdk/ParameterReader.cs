using System.Globalization;
using System.Text.Json;

namespace ParallelFlow.Sdk;

/// <summary>
/// Reads a task's parameters (its <c>with</c> object) for a worker, scorer or merger, and collects every problem
/// instead of stopping at the first. The keys read are the keys known: <see cref="Finish"/> reports any other key as
/// unknown, with the closest known one ("did you mean"). Use the same reading to validate and to run, so the two
/// never drift; <see cref="ParallelFlowWorker{TParameters}"/> does this for a worker.
/// </summary>
/// <example>
/// <code>
/// var reader = new ParameterReader(parameters);
/// var seconds = reader.Number("seconds", min: 0) ?? 0;
/// var mode = reader.OneOf("mode", "sleep", "cpu") ?? "sleep";
/// IReadOnlyList&lt;ParameterProblem&gt; problems = reader.Finish();
/// </code>
/// </example>
public sealed class ParameterReader
{
    private readonly JsonElement _parameters;
    private readonly List<ParameterProblem> _problems;
    private readonly List<string> _known = [];
    private readonly List<ParameterReader> _children = [];
    private readonly string? _path;
    private bool _finished;

    /// <summary>Starts reading.</summary>
    /// <param name="parameters">The <c>with</c> object; an absent or null one reads as empty.</param>
    public ParameterReader(JsonElement parameters)
    {
        _parameters = parameters;
        _problems = [];
        if (parameters.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined or JsonValueKind.Null))
        {
            _problems.Add(new ParameterProblem(null, "'with' must be an object"));
        }
    }

    /// <summary>Reads an object nested in the parameters; its problems go to <paramref name="parent"/>'s list, keyed by
    /// their full path (<c>criteria[0].weight</c>).</summary>
    private ParameterReader(JsonElement parameters, ParameterReader parent, string path)
    {
        _parameters = parameters;
        _problems = parent._problems;
        _path = path;
        parent._children.Add(this);
    }

    /// <summary>Where this reader's object sits in the parameters (<c>criteria[0]</c>); null for the parameters themselves.</summary>
    public string? Path => _path;

    /// <summary>The problems found so far.</summary>
    public IReadOnlyList<ParameterProblem> Problems => _problems;

    /// <summary>A string parameter.</summary>
    /// <param name="key">The parameter.</param>
    /// <param name="required">Whether its absence is a problem.</param>
    /// <returns>The value, or null when absent or wrong.</returns>
    public string? Text(string key, bool required = false) =>
        Read(key, required, "a string", static value => value.ValueKind == JsonValueKind.String ? value.GetString() : null);

    /// <summary>A string parameter that must be one of a few names.</summary>
    /// <param name="key">The parameter.</param>
    /// <param name="allowed">The names it may take.</param>
    /// <returns>The value, or null when absent or wrong.</returns>
    public string? OneOf(string key, params string[] allowed)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        if (Text(key) is not { } value)
        {
            return null;
        }

        if (Array.IndexOf(allowed, value) >= 0)
        {
            return value;
        }

        var suggestion = Suggestions.Closest(value, allowed);
        _problems.Add(new ParameterProblem(Key(key), $"{Key(key)} must be one of {string.Join(", ", allowed.Select(a => $"'{a}'"))}; got '{value}'" +
            (suggestion is null ? string.Empty : $". Did you mean '{suggestion}'?")));
        return null;
    }

    /// <summary>A number parameter within a range.</summary>
    /// <param name="key">The parameter.</param>
    /// <param name="min">The least it may be.</param>
    /// <param name="max">The most it may be.</param>
    /// <param name="required">Whether its absence is a problem.</param>
    /// <returns>The value, or null when absent or wrong.</returns>
    public double? Number(string key, double min = double.MinValue, double max = double.MaxValue, bool required = false)
    {
        var value = Read(key, required, Range("a number", min, max), static value => value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var n) && double.IsFinite(n) ? n : (double?)null);
        return value is { } number && (number < min || number > max || !double.IsFinite(number)) ? OutOfRange<double>(key, Range("a number", min, max), number) : value;
    }

    /// <summary>A whole-number parameter within a range.</summary>
    /// <param name="key">The parameter.</param>
    /// <param name="min">The least it may be.</param>
    /// <param name="max">The most it may be.</param>
    /// <param name="required">Whether its absence is a problem.</param>
    /// <returns>The value, or null when absent or wrong.</returns>
    public int? WholeNumber(string key, int min = int.MinValue, int max = int.MaxValue, bool required = false)
    {
        var expected = Range("a whole number", min, max);
        var value = Read(key, required, expected, static value => value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) ? n : (int?)null);
        return value is { } number && (number < min || number > max) ? OutOfRange<int>(key, expected, number) : value;
    }

    /// <summary>A true/false parameter.</summary>
    /// <param name="key">The parameter.</param>
    /// <returns>The value, or null when absent or wrong.</returns>
    public bool? Boolean(string key) =>
        Read(key, false, "true or false", static value => value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : (bool?)null);

    /// <summary>A list of strings; a single string counts as a list of one.</summary>
    /// <param name="key">The parameter.</param>
    /// <param name="required">Whether its absence is a problem.</param>
    /// <returns>The values, or null when absent or wrong.</returns>
    public IReadOnlyList<string>? Strings(string key, bool required = false) =>
        Read<IReadOnlyList<string>>(key, required, "a string or a list of strings", static value => value.ValueKind switch
        {
            JsonValueKind.String => [value.GetString()!],
            JsonValueKind.Array when value.EnumerateArray().All(item => item.ValueKind == JsonValueKind.String) => [.. value.EnumerateArray().Select(item => item.GetString()!)],
            _ => null,
        });

    /// <summary>An object parameter, read by a reader of its own: its problems are reported here, keyed by their path
    /// (<c>judge.rubric</c>), and its unknown keys when this reader finishes. Ask once per key: each call makes a new
    /// reader, and each reports the keys it did not read.</summary>
    /// <param name="key">The parameter.</param>
    /// <param name="required">Whether its absence is a problem.</param>
    /// <returns>A reader over the object, or null when absent or not an object.</returns>
    public ParameterReader? Child(string key, bool required = false) =>
        Read(key, required, "an object", static value => value.ValueKind == JsonValueKind.Object ? value : (JsonElement?)null) is { } value
            ? new ParameterReader(value, this, Key(key))
            : null;

    /// <summary>A list of objects, each read by a reader of its own (<c>criteria[0]</c>, <c>criteria[1]</c>, …).</summary>
    /// <param name="key">The parameter.</param>
    /// <param name="required">Whether its absence is a problem.</param>
    /// <returns>A reader per object, in list order (an item that is not an object is a problem and has none), or
    /// null when the parameter is absent or not a list.</returns>
    public IReadOnlyList<ParameterReader>? Children(string key, bool required = false)
    {
        if (Read(key, required, "a list of objects", static value => value.ValueKind == JsonValueKind.Array ? value : (JsonElement?)null) is not { } list)
        {
            return null;
        }

        var readers = new List<ParameterReader>();
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            var path = $"{Key(key)}[{index++}]";
            if (item.ValueKind == JsonValueKind.Object)
            {
                readers.Add(new ParameterReader(item, this, path));
            }
            else
            {
                _problems.Add(new ParameterProblem(path, $"{path} must be an object"));
            }
        }

        return readers;
    }

    /// <summary>Whether the parameter is given (even as null). Does not count as reading it.</summary>
    /// <param name="key">The parameter.</param>
    /// <returns>True when the key is present.</returns>
    public bool Has(string key) => TryGet(key, out _);

    /// <summary>An object parameter, left to the caller to read (with another reader, say).</summary>
    /// <param name="key">The parameter.</param>
    /// <returns>The object, or null when absent or wrong.</returns>
    public JsonElement? Nested(string key) =>
        Read(key, false, "an object", static value => value.ValueKind == JsonValueKind.Object ? value : (JsonElement?)null);

    /// <summary>A parameter of any kind, left to the caller to read.</summary>
    /// <param name="key">The parameter.</param>
    /// <returns>The value, or null when absent.</returns>
    public JsonElement? Element(string key)
    {
        Know(key);
        return TryGet(key, out var value) ? value : null;
    }

    /// <summary>Declares keys that are read elsewhere (or only sometimes), so <see cref="Finish"/> does not call them unknown.</summary>
    /// <param name="keys">The keys.</param>
    public void Known(params string[] keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            Know(key);
        }
    }

    /// <summary>Adds a problem the reading itself cannot see (two parameters that do not go together, say).</summary>
    /// <param name="key">The parameter at fault, or null for the whole object.</param>
    /// <param name="message">What is wrong.</param>
    public void Problem(string? key, string message) => _problems.Add(new ParameterProblem(key is null ? _path : Key(key), message));

    /// <summary>Reports every key that was not read as unknown, and returns all the problems.</summary>
    /// <returns>Everything wrong with the parameters; empty when they are fine.</returns>
    public IReadOnlyList<ParameterProblem> Finish()
    {
        if (_parameters.ValueKind == JsonValueKind.Object && !_finished)
        {
            foreach (var property in _parameters.EnumerateObject())
            {
                if (!_known.Contains(property.Name, StringComparer.Ordinal))
                {
                    var key = Key(property.Name);
                    _problems.Add(new ParameterProblem(key, Suggestions.Closest(property.Name, _known) is { } suggestion
                        ? $"unknown parameter '{key}'. Did you mean '{suggestion}'?"
                        : _known.Count == 0
                            ? $"unknown parameter '{key}': this takes no parameters"
                            : $"unknown parameter '{key}'. Known parameters: {string.Join(", ", _known)}"));
                }
            }
        }

        _finished = true;
        foreach (var child in _children)
        {
            child.Finish();
        }

        return _problems;
    }

    private T? Read<T>(string key, bool required, string expected, Func<JsonElement, T?> convert)
    {
        Know(key);
        if (!TryGet(key, out var value))
        {
            // A 'with' that is not an object was reported once; its keys are not reported missing one by one.
            if (required && _parameters.ValueKind is JsonValueKind.Object or JsonValueKind.Undefined or JsonValueKind.Null)
            {
                _problems.Add(new ParameterProblem(_path, $"'{Key(key)}' is required"));
            }

            return default;
        }

        if (convert(value) is { } converted)
        {
            return converted;
        }

        _problems.Add(new ParameterProblem(Key(key), $"{Key(key)} must be {expected}"));
        return default;
    }

    private T? OutOfRange<T>(string key, string expected, T value)
        where T : struct
    {
        _problems.Add(new ParameterProblem(Key(key), $"{Key(key)} must be {expected}; got {Convert.ToString(value, CultureInfo.InvariantCulture)}"));
        return null;
    }

    private bool TryGet(string key, out JsonElement value)
    {
        value = default;
        // A key given as null is given: it is checked like any other value (and is not a string, a number, …).
        return _parameters.ValueKind == JsonValueKind.Object && _parameters.TryGetProperty(key, out value);
    }

    private string Key(string key) => _path is null ? key : $"{_path}.{key}";

    private void Know(string key)
    {
        if (!_known.Contains(key, StringComparer.Ordinal))
        {
            _known.Add(key);
        }
    }

    private static string Range(string kind, double min, double max) => (min, max) switch
    {
        (double.MinValue or int.MinValue, double.MaxValue or int.MaxValue) => kind,
        (_, double.MaxValue or int.MaxValue) => $"{kind} of at least {min.ToString(CultureInfo.InvariantCulture)}",
        (double.MinValue or int.MinValue, _) => $"{kind} of at most {max.ToString(CultureInfo.InvariantCulture)}",
        _ => $"{kind} from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}",
    };
}
