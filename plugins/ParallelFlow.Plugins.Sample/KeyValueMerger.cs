using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Sample;

/// <summary>The <c>key-values</c> merger: joins the sections' <c>key=value</c> lines in section order. A key two
/// sections give different values is a conflict: the first value is kept and the conflict left for review, or, with
/// <c>last_wins: true</c>, the last value is kept and the conflict counts as resolved.</summary>
public sealed class KeyValueMerger : ParallelFlowMerger<bool>
{
    /// <inheritdoc/>
    protected override bool Bind(ParameterReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return reader.Boolean("last_wins") ?? false;
    }

    /// <inheritdoc/>
    protected override ValueTask<MergeResult> MergeAsync(MergeRequest request, bool lastWins, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var merged = new Dictionary<string, (string Value, string Section)>(StringComparer.Ordinal);
        var conflicts = new List<MergeConflict>();
        foreach (var section in request.Sections)
        {
            foreach (var line in section.Result.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var (key, value) = line.IndexOf('=', StringComparison.Ordinal) is var at and > 0 ? (line[..at], line[(at + 1)..]) : (line, string.Empty);
                if (merged.TryGetValue(key, out var earlier) && earlier.Value != value)
                {
                    conflicts.Add(new MergeConflict($"{section.Name}: {key}", $"'{earlier.Value}' from {earlier.Section}, '{value}' here", Resolved: lastWins));
                    if (!lastWins)
                    {
                        continue;
                    }
                }

                merged[key] = (value, section.Name);
            }
        }

        var text = string.Join('\n', merged.Select(p => $"{p.Key}={p.Value.Value}"));
        return ValueTask.FromResult(new MergeResult(TaskResult.FromText(text), conflicts));
    }
}
