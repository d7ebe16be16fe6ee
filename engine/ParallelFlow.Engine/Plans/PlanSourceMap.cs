namespace ParallelFlow.Engine.Plans;

/// <summary>Where each part of a loaded plan stood in its file, keyed by path (<c>tasks[2].depends_on[0]</c>),
/// so checks made after binding can still name a line and column.</summary>
internal sealed class PlanSourceMap(string? source)
{
    public static PlanSourceMap Empty { get; } = new(null);

    private readonly Dictionary<string, SourcePosition> _positions = new(StringComparer.Ordinal);

    public string? Source { get; } = source;

    public void Add(string path, SourcePosition position) => _positions.TryAdd(path, position);

    public SourcePosition? Find(string path)
    {
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

    public PlanError Error(string code, string path, string message, string? taskId = null, bool warning = false) =>
        new(code, message, Source, Find(path), taskId, warning);

    private static string Parent(string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 0 ? string.Empty : path[..cut];
    }
}
