using System.Globalization;

namespace ParallelFlow.Engine.Plans;

/// <summary>
/// What every binder of a file shares: reading single values with their checks, and collecting every problem with its
/// position instead of stopping at the first (unknown keys with the closest known one, wrong types, duplicate keys).
/// Ranges are not checked here but on the bound model, by <see cref="PlanRules"/>.
/// </summary>
/// <remarks>The binders: <see cref="PlanBinder"/> (plans, config.json), <c>Requests.RequestBinder</c> (voting and
/// sectioning requests), <c>Replay.WorkflowTraceBinder</c> (WfCommons traces).</remarks>
internal abstract class NodeBinder
{
    protected readonly List<PlanError> _errors = [];
    protected readonly PlanSourceMap _map;

    /// <param name="source">The file, for positions.</param>
    /// <param name="tree">The file's node tree, when positions are found in it rather than recorded as binding goes.</param>
    protected NodeBinder(string source, PlanNode? tree = null) => _map = new PlanSourceMap(source, tree);

    /// <summary>Every problem found so far.</summary>
    public List<PlanError> Errors => _errors;

    internal PlanSourceMap Map => _map;

    protected List<string> IdList(PlanNode node, string path, string? taskId)
    {
        var ids = new List<string>();
        if (node is ScalarNode { Kind: ScalarKind.String } single)
        {
            _map.Add(path + "[0]", single.Position);
            ids.Add(single.Text);
            return ids;
        }

        if (node is not ArrayNode array)
        {
            WrongType(node, path, "a list of task ids", taskId);
            return ids;
        }

        for (var i = 0; i < array.Items.Count; i++)
        {
            var itemPath = $"{path}[{i}]";
            _map.Add(itemPath, array.Items[i].Position);
            if (String(array.Items[i], itemPath, taskId) is { } id)
            {
                ids.Add(id);
            }
        }

        return ids;
    }

    protected ObjectNode? ExpectObject(PlanNode node, string path, string? taskId = null)
    {
        if (node is ObjectNode obj)
        {
            return obj;
        }

        WrongType(node, path, "an object", taskId);
        return null;
    }

    protected string? String(PlanNode node, string path, string? taskId)
    {
        if (node is ScalarNode { Kind: ScalarKind.String } scalar)
        {
            return scalar.Text;
        }

        WrongType(node, path, "a string", taskId);
        return null;
    }

    protected bool? Boolean(PlanNode node, string path, string? taskId)
    {
        if (node is ScalarNode { Kind: ScalarKind.Boolean } scalar)
        {
            return scalar.Text == "true";
        }

        WrongType(node, path, "true or false", taskId);
        return null;
    }

    protected string? Enum(PlanNode node, string path, string[] names, string? taskId)
    {
        if (String(node, path, taskId) is not { } text)
        {
            return null;
        }

        if (Array.IndexOf(names, text) >= 0)
        {
            return text;
        }

        var suggestion = Sdk.Suggestions.Closest(text, names);
        _errors.Add(new PlanError(PlanError.InvalidValueCode,
            $"{Describe(path, taskId)}: '{DisplayText.Shorten(text)}' is not one of {string.Join(", ", names)}{(suggestion is null ? "" : $". Did you mean '{suggestion}'?")}",
            _map.Source, node.Position, taskId));
        return null;
    }

    protected double? Number(PlanNode node, string path, string? taskId, double min = double.MinValue, double max = double.MaxValue, bool minExclusive = false)
    {
        if (node is not ScalarNode { Kind: ScalarKind.Number } scalar ||
            !double.TryParse(scalar.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            WrongType(node, path, "a number", taskId);
            return null;
        }

        if (value < min || (minExclusive && value <= min) || value > max || !double.IsFinite(value))
        {
            var range = max == double.MaxValue
                ? (minExclusive ? $"greater than {min}" : $"at least {min}")
                : $"between {min} and {max}";
            _errors.Add(new PlanError(PlanError.OutOfRangeCode, $"{Describe(path, taskId)} must be {range}; got {scalar.Text}", _map.Source, node.Position, taskId));
            return null;
        }

        return value;
    }

    protected int? Integer(PlanNode node, string path, string? taskId, int min = int.MinValue, int max = int.MaxValue)
    {
        if (Number(node, path, taskId, min, max) is not { } value)
        {
            return null;
        }

        if (value != Math.Floor(value))
        {
            _errors.Add(new PlanError(PlanError.WrongTypeCode, $"{Describe(path, taskId)} must be a whole number; got {value.ToString(CultureInfo.InvariantCulture)}", _map.Source, node.Position, taskId));
            return null;
        }

        return (int)value;
    }

    protected void WrongType(PlanNode node, string path, string expected, string? taskId) =>
        _errors.Add(new PlanError(PlanError.WrongTypeCode, $"{Describe(path, taskId)} must be {expected}; got {node.KindName}", _map.Source, node.Position, taskId));

    /// <summary>Reports an unknown key and keeps the value being bound unchanged, for use inside switch expressions.</summary>
    protected T UnknownKey<T>(T unchanged, PropertyNode property, string[] known, string where, string? taskId)
    {
        ReportUnknownKey(property, known, where, taskId);
        return unchanged;
    }

    protected void ReportUnknownKey(PropertyNode property, string[] known, string where, string? taskId)
    {
        var suggestion = Sdk.Suggestions.Closest(property.Key, known);
        var hint = suggestion is null ? $" Known keys: {string.Join(", ", known.Where(k => k != "$schema"))}." : $" Did you mean '{suggestion}'?";
        _errors.Add(new PlanError(PlanError.UnknownKeyCode, $"{where}: unknown key '{DisplayText.Shorten(property.Key)}'.{hint}", _map.Source, property.KeyPosition, taskId));
    }

    protected static string Describe(string path, string? taskId) =>
        taskId is null ? path : $"task '{taskId}': {path[(path.IndexOf('.', StringComparison.Ordinal) + 1)..]}";

    /// <summary>A key given twice in one object would silently keep only its last value; both readers keep every
    /// occurrence, so it can be reported here with both places.</summary>
    protected void ReportDuplicateKeys(PlanNode node)
    {
        switch (node)
        {
            case ObjectNode obj:
                // Most objects hold a handful of keys: comparing them pairwise costs less than a dictionary each.
                var seen = obj.Properties.Count > 16 ? new Dictionary<string, SourcePosition>(StringComparer.Ordinal) : null;
                for (var i = 0; i < obj.Properties.Count; i++)
                {
                    var property = obj.Properties[i];
                    SourcePosition? earlier = null;
                    if (seen is not null)
                    {
                        if (!seen.TryAdd(property.Key, property.KeyPosition))
                        {
                            earlier = seen[property.Key];
                        }
                    }
                    else
                    {
                        for (var j = 0; j < i && earlier is null; j++)
                        {
                            if (obj.Properties[j].Key == property.Key)
                            {
                                earlier = obj.Properties[j].KeyPosition;
                            }
                        }
                    }

                    if (earlier is { } first)
                    {
                        _errors.Add(new PlanError(PlanError.DuplicateKeyCode,
                            $"key '{DisplayText.Shorten(property.Key)}' is given twice in one object (first at line {first.Line}, column {first.Column}); only one may stand",
                            _map.Source, property.KeyPosition, null));
                    }

                    ReportDuplicateKeys(property.Value);
                }

                break;
            case ArrayNode array:
                foreach (var item in array.Items)
                {
                    ReportDuplicateKeys(item);
                }

                break;
        }
    }

    /// <summary>Records where every nested key and item of a worker's parameters stood, so a worker's
    /// <see cref="Sdk.ParameterProblem"/> about <c>candidates[1].worker</c> points at that line. Only requests need
    /// it: a plan file's map finds these in its tree.</summary>
    protected void RecordPositions(PlanNode node, string path)
    {
        switch (node)
        {
            case ObjectNode obj:
                foreach (var property in obj.Properties)
                {
                    _map.Add($"{path}.{property.Key}", property.KeyPosition);
                    RecordPositions(property.Value, $"{path}.{property.Key}");
                }

                break;
            case ArrayNode array:
                for (var i = 0; i < array.Items.Count; i++)
                {
                    _map.Add($"{path}[{i}]", array.Items[i].Position);
                    RecordPositions(array.Items[i], $"{path}[{i}]");
                }

                break;
        }
    }
}
