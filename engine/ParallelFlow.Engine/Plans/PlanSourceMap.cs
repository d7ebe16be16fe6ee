namespace ParallelFlow.Engine.Plans;

/// <summary>Where each part of a loaded plan stood in its file, keyed by path (<c>tasks[2].depends_on[0]</c>),
/// so checks made after binding can still name a line and column.</summary>
/// <remarks>A plan file's positions are looked up in its node tree when an error asks for one, so a valid plan of a
/// million tasks builds no path strings at all. Plans bound from another shape (a voting request, a workflow trace)
/// record the paths their errors use explicitly.</remarks>
internal sealed class PlanSourceMap(string? source, PlanNode? root = null)
{
    public static PlanSourceMap Empty { get; } = new(null);

    private readonly Dictionary<string, SourcePosition> _positions = new(StringComparer.Ordinal);
    private PlanNode? _root = root;
    private SourcePosition[]? _tasks;

    public string? Source { get; } = source;

    /// <summary>Records a path's position; a map over a node tree finds every position there and records nothing.</summary>
    public void Add(string path, SourcePosition position)
    {
        if (_root is null && _tasks is null)
        {
            _positions.TryAdd(path, position);
        }
    }

    /// <param name="path">The path.</param>
    /// <param name="value">Whether a key's value is wanted rather than the key: where a wrong number stands.</param>
    public SourcePosition? Find(string path, bool value = false)
    {
        if (_root is not null)
        {
            return Resolve(_root, path, value);
        }

        if (_tasks is not null && TaskPosition(path) is { } task)
        {
            // Inside a task, only the parameters of tasks that use inputs were kept (Compact).
            for (var current = path; current.Contains('.', StringComparison.Ordinal); current = Parent(current))
            {
                if (_positions.TryGetValue(current, out var kept))
                {
                    return kept;
                }
            }

            return task;
        }

        // Fall back to the closest enclosing part that was recorded.
        for (var current = path; ; current = Parent(current))
        {
            if (_positions.TryGetValue(current, out var position))
            {
                return position;
            }

            if (current.Length == 0)
            {
                return null;
            }
        }
    }

    /// <summary>Lets the node tree go once the plan has been validated, keeping where each task stood: a plan of a
    /// million tasks would otherwise hold its whole file as nodes for as long as it lives. A later error (a worker
    /// checked against another catalog at compile time) still names its task's line.</summary>
    public void Compact()
    {
        if (_root is not ObjectNode { } obj)
        {
            return;
        }

        _tasks = obj.Find("tasks") is { Value: ArrayNode tasks } ? [.. tasks.Items.Select(t => t.Position)] : [];
        if (obj.Find("inputs") is not null && obj.Find("tasks") is { Value: ArrayNode list })
        {
            // A task that uses inputs has its parameters checked again at each run's start, with the run's values:
            // its keys keep their lines for those errors.
            for (var i = 0; i < list.Items.Count; i++)
            {
                if (list.Items[i] is ObjectNode task && task.Find("with") is { Value: ObjectNode with } && UsesInputs(with))
                {
                    KeepPositions(with, $"tasks[{i}].with");
                }
            }
        }

        foreach (var property in obj.Properties)
        {
            _positions.TryAdd(property.Key, property.KeyPosition);
        }

        _positions.TryAdd(string.Empty, obj.Position);
        _root = null;
    }

    private static bool UsesInputs(PlanNode node) => node switch
    {
        ScalarNode { Kind: ScalarKind.String } scalar => scalar.Text.Contains("inputs.", StringComparison.Ordinal),
        ObjectNode obj => obj.Properties.Any(p => UsesInputs(p.Value)),
        ArrayNode array => array.Items.Any(UsesInputs),
        _ => false,
    };

    private void KeepPositions(PlanNode node, string path)
    {
        switch (node)
        {
            case ObjectNode obj:
                foreach (var property in obj.Properties)
                {
                    _positions.TryAdd($"{path}.{property.Key}", property.KeyPosition);
                    KeepPositions(property.Value, $"{path}.{property.Key}");
                }

                break;
            case ArrayNode array:
                for (var i = 0; i < array.Items.Count; i++)
                {
                    _positions.TryAdd($"{path}[{i}]", array.Items[i].Position);
                    KeepPositions(array.Items[i], $"{path}[{i}]");
                }

                break;
        }
    }

    private SourcePosition? TaskPosition(string path)
    {
        const string prefix = "tasks[";
        if (!path.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var close = path.IndexOf(']', StringComparison.Ordinal);
        return close > prefix.Length
            && int.TryParse(path.AsSpan(prefix.Length, close - prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
            && index < _tasks!.Length
                ? _tasks[index]
                : null;
    }

    public PlanError Error(string code, string path, string message, string? taskId = null, bool warning = false) =>
        new(code, message, Source, Find(path), taskId, warning);

    /// <summary>An error about the value at a path, positioned at the value where the file has it.</summary>
    public PlanError ValueError(string code, string path, string message, string? taskId = null) =>
        new(code, message, Source, Find(path, value: true), taskId);

    /// <summary>Follows a path down the node tree: a key names the position of the key (or of its value, when
    /// <paramref name="value"/> asks and the whole path was found), an index that of the item. The deepest part found
    /// answers, so a path into a value a worker made up still points at the nearest key.</summary>
    private static SourcePosition Resolve(PlanNode root, string path, bool value)
    {
        var node = root;
        var found = root.Position;
        var rest = path.AsSpan();
        while (rest.Length > 0)
        {
            if (rest[0] == '[')
            {
                var close = rest.IndexOf(']');
                if (close < 0 || !int.TryParse(rest[1..close], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
                {
                    return found;
                }

                switch (node)
                {
                    case ArrayNode array when index < array.Items.Count:
                        node = array.Items[index];
                        found = node.Position;
                        break;
                    case ScalarNode when index == 0:
                        // A single id given where a list may stand (depends_on: "a") is item 0 of that list.
                        return node.Position;
                    default:
                        return found;
                }

                rest = rest[(close + 1)..];
                continue;
            }

            if (rest[0] == '.')
            {
                rest = rest[1..];
            }

            if (node is not ObjectNode obj || Match(obj, rest) is not { } property)
            {
                return found;
            }

            found = property.KeyPosition;
            node = property.Value;
            rest = rest[property.Key.Length..];
        }

        return value ? node.Position : found;
    }

    /// <summary>The property whose key starts the path; the longest one, since keys may hold dots themselves.</summary>
    private static PropertyNode? Match(ObjectNode obj, ReadOnlySpan<char> rest)
    {
        PropertyNode? best = null;
        foreach (var property in obj.Properties)
        {
            var key = property.Key;
            if (rest.StartsWith(key, StringComparison.Ordinal)
                && (rest.Length == key.Length || rest[key.Length] is '.' or '[')
                && (best is null || key.Length > best.Key.Length))
            {
                best = property;
            }
        }

        return best;
    }

    private static string Parent(string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 0 ? string.Empty : path[..cut];
    }
}
