using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Merging;

/// <summary>The <c>lines</c> merger: joins the sections' lines in section order, keeping each distinct line once and
/// reporting a line that two sections both produced as a (resolved) conflict.</summary>
public sealed class LinesMerger : ParallelFlowMerger
{
    /// <inheritdoc/>
    /// <remarks>The merger takes no parameters: any key is unknown.</remarks>
    public override IReadOnlyList<ParameterProblem> ValidateParameters(System.Text.Json.JsonElement parameters) => new ParameterReader(parameters).Finish();

    /// <inheritdoc/>
    public override ValueTask<MergeResult> MergeAsync(MergeRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = new List<string>();
        var conflicts = new List<MergeConflict>();
        foreach (var section in request.Sections)
        {
            foreach (var line in section.Result.ToString().Split('\n'))
            {
                if (seen.TryAdd(line, section.Name))
                {
                    lines.Add(line);
                }
                else
                {
                    conflicts.Add(new MergeConflict($"{section.Name}: '{line}'", $"also produced by {seen[line]}; kept once", Resolved: true));
                }
            }
        }

        return ValueTask.FromResult(new MergeResult(TaskResult.FromText(string.Join('\n', lines)), conflicts));
    }
}
