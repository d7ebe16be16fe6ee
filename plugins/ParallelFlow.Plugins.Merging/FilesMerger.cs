using System.Text;
using System.Text.Json;
using DiffPlex;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Merging;

/// <summary>
/// The <c>files</c> merger: each section's output names files and their new content (<c>{"files": {"path":
/// "content"}}</c> or <c>{"path": "content"}</c>). A file changed by one section takes that content; a file changed
/// by several is merged three-way against its base in <c>base_dir</c> (DiffPlex line diffs): edits to different
/// lines combine, the same edit counts once, and different edits to overlapping lines are a conflict reported per
/// file and hunk. <c>policy</c> settles it (<c>mark</c> writes diff3-style conflict markers). With <c>output_dir</c>
/// the merged files are written there.
/// </summary>
public sealed class FilesMerger : ParallelFlowMerger<MergeSettings>
{
    /// <inheritdoc/>
    protected override MergeSettings Bind(ParameterReader reader) => new()
    {
        BaseDir = reader.Text("base_dir"),
        OutputDir = reader.Text("output_dir"),
        Policy = MergeParameters.Policy(reader),
    };

    /// <inheritdoc/>
    protected override async ValueTask<MergeResult> MergeAsync(MergeRequest request, MergeSettings parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(parameters);
        var policy = parameters.Policy;
        var baseDir = parameters.BaseDir ?? ".";
        var outputDir = parameters.OutputDir;
        var changes = new SortedDictionary<string, List<(string Section, string Content)>>(StringComparer.Ordinal);
        foreach (var section in request.Sections)
        {
            foreach (var (path, content) in Files(section))
            {
                (changes.TryGetValue(path, out var list) ? list : changes[path] = []).Add((section.Name, content));
            }
        }

        var conflicts = new List<MergeConflict>();
        var merged = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (path, edits) in changes)
        {
            var basePath = Path.Combine(baseDir, path);
            var original = File.Exists(basePath) ? await File.ReadAllTextAsync(basePath, cancellationToken).ConfigureAwait(false) : string.Empty;
            merged[path] = edits.Count == 1 ? edits[0].Content : ThreeWay(path, original, edits, policy, conflicts);
        }

        MergeParameters.ThrowIfFailing(policy, conflicts);
        if (outputDir is not null)
        {
            foreach (var (path, content) in merged)
            {
                var target = Path.Combine(outputDir, path);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                await File.WriteAllTextAsync(target, content, cancellationToken).ConfigureAwait(false);
            }
        }

        var json = JsonSerializer.SerializeToElement(new Dictionary<string, object>
        {
            ["files"] = merged,
            ["changed_by"] = changes.ToDictionary(c => c.Key, c => c.Value.Select(e => e.Section).ToArray()),
        });
        return new MergeResult(new TaskResult { Json = json, Text = $"{merged.Count} file(s) merged from {request.Sections.Count} section(s){(outputDir is null ? string.Empty : $" into {outputDir}")}; {conflicts.Count} conflict(s)" }, conflicts);
    }

    /// <summary>Merges several versions of one file against its base, hunk by hunk.</summary>
    internal static string ThreeWay(string path, string original, IReadOnlyList<(string Section, string Content)> versions, ConflictPolicy policy, List<MergeConflict> conflicts)
    {
        var baseLines = Lines(original);
        var hunks = new List<Hunk>();
        for (var v = 0; v < versions.Count; v++)
        {
            var result = Differ.Instance.CreateLineDiffs(original, versions[v].Content, ignoreWhitespace: false, ignoreCase: false);
            foreach (var block in result.DiffBlocks)
            {
                hunks.Add(new Hunk(v, block.DeleteStartA, block.DeleteCountA, result.PiecesNew.Skip(block.InsertStartB).Take(block.InsertCountB).ToArray()));
            }
        }

        var output = new List<string>();
        var position = 0;
        foreach (var cluster in Clusters(hunks))
        {
            var start = cluster.Min(h => h.Start);
            var end = cluster.Max(h => h.End);
            output.AddRange(baseLines.Skip(position).Take(start - position));
            var sides = cluster.Select(h => h.Version).Distinct().Order().ToList();
            var renderings = sides.Select(v => (Version: v, Lines: Apply(baseLines, start, end, cluster.Where(h => h.Version == v)))).ToList();
            if (renderings.Select(r => string.Join('\n', r.Lines)).Distinct(StringComparer.Ordinal).Count() == 1)
            {
                output.AddRange(renderings[0].Lines);
            }
            else
            {
                var location = $"{path}: lines {start + 1}-{Math.Max(start + 1, end)}";
                var names = string.Join(", ", sides.Select(v => versions[v].Section));
                switch (policy)
                {
                    case ConflictPolicy.PreferFirst:
                        conflicts.Add(new MergeConflict(location, $"{names} change these lines differently; kept {versions[sides[0]].Section}'s", true));
                        output.AddRange(renderings[0].Lines);
                        break;
                    case ConflictPolicy.PreferLast:
                        conflicts.Add(new MergeConflict(location, $"{names} change these lines differently; kept {versions[sides[^1]].Section}'s", true));
                        output.AddRange(renderings[^1].Lines);
                        break;
                    default:
                        conflicts.Add(new MergeConflict(location, $"{names} change these lines differently; conflict markers written", false));
                        output.Add($"<<<<<<< {versions[renderings[0].Version].Section}");
                        output.AddRange(renderings[0].Lines);
                        output.Add("||||||| base");
                        output.AddRange(baseLines.Skip(start).Take(end - start));
                        foreach (var (version, lines) in renderings.Skip(1))
                        {
                            output.Add($"======= {versions[version].Section}");
                            output.AddRange(lines);
                        }

                        output.Add($">>>>>>> {versions[renderings[^1].Version].Section}");
                        break;
                }
            }

            position = end;
        }

        output.AddRange(baseLines.Skip(position));
        var text = new StringBuilder(string.Join('\n', output));
        if (original.EndsWith('\n') || (original.Length == 0 && versions.Any(v => v.Content.EndsWith('\n'))))
        {
            text.Append('\n');
        }

        return text.ToString();
    }

    private static string[] Lines(string text) =>
        text.Length == 0 ? [] : text.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');

    /// <summary>Groups hunks whose base ranges overlap or touch the same insertion point.</summary>
    private static IEnumerable<List<Hunk>> Clusters(List<Hunk> hunks)
    {
        List<Hunk>? current = null;
        var end = -1;
        foreach (var hunk in hunks.OrderBy(h => h.Start).ThenBy(h => h.Version))
        {
            var touches = current is not null && (hunk.Start < end || (hunk.Start == end && (hunk.Count == 0 || current.Any(h => h.Count == 0 && h.Start == hunk.Start))) || current.Any(h => h.Start == hunk.Start));
            if (!touches)
            {
                if (current is not null)
                {
                    yield return current;
                }

                current = [];
                end = hunk.End;
            }

            current!.Add(hunk);
            end = Math.Max(end, hunk.End);
        }

        if (current is not null)
        {
            yield return current;
        }
    }

    /// <summary>One version's lines for base lines [start, end): the base with that version's hunks applied.</summary>
    private static List<string> Apply(string[] baseLines, int start, int end, IEnumerable<Hunk> hunks)
    {
        var result = new List<string>();
        var position = start;
        foreach (var hunk in hunks.OrderBy(h => h.Start))
        {
            result.AddRange(baseLines.Skip(position).Take(hunk.Start - position));
            result.AddRange(hunk.Lines);
            position = hunk.End;
        }

        result.AddRange(baseLines.Skip(position).Take(end - position));
        return result;
    }

    private static List<(string Path, string Content)> Files(SectionOutput section)
    {
        JsonElement json;
        try
        {
            json = section.Result.Json ?? JsonDocument.Parse(section.Result.Text ?? "{}").RootElement;
        }
        catch (JsonException ex)
        {
            throw new FatalTaskException($"section '{section.Name}' did not produce {{\"files\": {{path: content}}}}: {ex.Message}", ex);
        }

        var files = json.ValueKind == JsonValueKind.Object && json.TryGetProperty("files", out var f) ? f : json;
        if (files.ValueKind != JsonValueKind.Object || files.EnumerateObject().Any(p => p.Value.ValueKind != JsonValueKind.String))
        {
            throw new FatalTaskException($"section '{section.Name}' did not produce {{\"files\": {{path: content}}}}");
        }

        return files.EnumerateObject().Select(p => (p.Name.Replace('\\', '/'), p.Value.GetString()!)).ToList();
    }

    private sealed record Hunk(int Version, int Start, int Count, string[] Lines)
    {
        public int End => Start + Count;
    }
}
