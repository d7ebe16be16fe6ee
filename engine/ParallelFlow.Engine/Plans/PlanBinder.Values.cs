using System.Globalization;

namespace ParallelFlow.Engine.Plans;

/// <summary>Reading single values with their checks, and reporting what is wrong with them.</summary>
internal sealed partial class PlanBinder
{
    private List<string> IdList(PlanNode node, string path, string? taskId)
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

    private ObjectNode? ExpectObject(PlanNode node, string path, string? taskId = null)
    {
        if (node is ObjectNode obj)
        {
            return obj;
        }

        WrongType(node, path, "an object", taskId);
        return null;
    }

    private string? String(PlanNode node, string path, string? taskId)
    {
        if (node is ScalarNode { Kind: ScalarKind.String } scalar)
        {
            return scalar.Text;
        }

        WrongType(node, path, "a string", taskId);
        return null;
    }

    private bool? Boolean(PlanNode node, string path, string? taskId)
    {
        if (node is ScalarNode { Kind: ScalarKind.Boolean } scalar)
        {
            return scalar.Text == "true";
        }

        WrongType(node, path, "true or false", taskId);
        return null;
    }

    private string? Enum(PlanNode node, string path, string[] names, string? taskId)
    {
        if (String(node, path, taskId) is not { } text)
        {
            return null;
        }

        if (Array.IndexOf(names, text) >= 0)
        {
            return text;
        }

        var suggestion = Suggest(text, names);
        _errors.Add(new PlanError(PlanError.InvalidValueCode,
            $"{Describe(path, taskId)}: '{DisplayText.Shorten(text)}' is not one of {string.Join(", ", names)}{(suggestion is null ? "" : $". Did you mean '{suggestion}'?")}",
            _map.Source, node.Position, taskId));
        return null;
    }

    private double? Number(PlanNode node, string path, string? taskId, double min = double.MinValue, double max = double.MaxValue, bool minExclusive = false)
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

    private int? Integer(PlanNode node, string path, string? taskId, int min = int.MinValue, int max = int.MaxValue)
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

    private void WrongType(PlanNode node, string path, string expected, string? taskId) =>
        _errors.Add(new PlanError(PlanError.WrongTypeCode, $"{Describe(path, taskId)} must be {expected}; got {node.KindName}", _map.Source, node.Position, taskId));

    /// <summary>Reports an unknown key and keeps the value being bound unchanged, for use inside switch expressions.</summary>
    private T UnknownKey<T>(T unchanged, PropertyNode property, string[] known, string where, string? taskId)
    {
        ReportUnknownKey(property, known, where, taskId);
        return unchanged;
    }

    private void ReportUnknownKey(PropertyNode property, string[] known, string where, string? taskId)
    {
        var suggestion = Suggest(property.Key, known);
        var hint = suggestion is null ? $" Known keys: {string.Join(", ", known.Where(k => k != "$schema"))}." : $" Did you mean '{suggestion}'?";
        _errors.Add(new PlanError(PlanError.UnknownKeyCode, $"{where}: unknown key '{DisplayText.Shorten(property.Key)}'.{hint}", _map.Source, property.KeyPosition, taskId));
    }

    private T NotEnforced<T>(T unchanged, PropertyNode property, string path)
    {
        _errors.Add(new PlanError(PlanError.NotEnforcedCode, $"'{path}' is accepted for compatibility but not enforced by ParallelFlow",
            _map.Source, property.KeyPosition, null, IsWarning: true));
        return unchanged;
    }

    private static string Describe(string path, string? taskId) =>
        taskId is null ? path : $"task '{taskId}': {path[(path.IndexOf('.', StringComparison.Ordinal) + 1)..]}";

    /// <summary>The known name closest to what was typed, when it is close enough to be a typo.</summary>
    /// <remarks>Only names whose length is within the allowed distance are compared, and nothing longer than
    /// <see cref="DisplayText.MaxShown"/> is: a typo of a 10-letter key is never 20 million characters long, and
    /// comparing them would cost 20 million × 10 steps per known key.</remarks>
    internal static string? Suggest(string typed, IEnumerable<string> known)
    {
        if (typed.Length > DisplayText.MaxShown)
        {
            return null;
        }

        var allowed = Math.Max(2, typed.Length / 3);
        var lower = typed.ToLowerInvariant();
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            if (Math.Abs(candidate.Length - typed.Length) > allowed)
            {
                continue;
            }

            var distance = EditDistance(lower, candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return bestDistance <= allowed ? best : null;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
