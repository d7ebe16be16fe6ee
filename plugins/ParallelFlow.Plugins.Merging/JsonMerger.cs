using System.Text.Json;
using System.Text.Json.Nodes;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Merging;

/// <summary>
/// The <c>json</c> merger: deep-merges the sections' JSON objects in section order. Objects merge key by key; arrays
/// are concatenated (<c>arrays: "concat"</c>, the default, dropping repeats) or must agree (<c>"conflict"</c>); two
/// different values at one key path are a conflict, reported with the path (<c>$.server.port</c>) and both values,
/// and settled by the <c>policy</c>.
/// </summary>
public sealed class JsonMerger : ParallelFlowMerger<MergeSettings>
{
    /// <inheritdoc/>
    protected override MergeSettings Bind(ParameterReader reader) => new()
    {
        Policy = MergeParameters.Policy(reader),
        ConcatArrays = reader.OneOf("arrays", "concat", "conflict") != "conflict",
    };

    /// <inheritdoc/>
    protected override ValueTask<MergeResult> MergeAsync(MergeRequest request, MergeSettings parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(parameters);
        var policy = parameters.Policy;
        var concatArrays = parameters.ConcatArrays;
        var conflicts = new List<MergeConflict>();
        JsonNode? merged = null;
        string? owner = null;
        foreach (var section in request.Sections)
        {
            var node = Parse(section);
            if (merged is null)
            {
                merged = node;
                owner = section.Name;
                continue;
            }

            merged = Merge(merged, node, "$", owner!, section.Name, policy, concatArrays, conflicts);
        }

        MergeParameters.ThrowIfFailing(policy, conflicts);
        var json = JsonSerializer.SerializeToElement(merged ?? new JsonObject());
        return ValueTask.FromResult(new MergeResult(TaskResult.FromJson(json), conflicts));
    }

    private static JsonNode? Parse(SectionOutput section)
    {
        try
        {
            return section.Result.Json is { } json ? JsonNode.Parse(json.GetRawText()) : JsonNode.Parse(section.Result.Text ?? "null");
        }
        catch (JsonException ex)
        {
            throw new FatalTaskException($"section '{section.Name}' did not produce JSON: {ex.Message}", ex);
        }
    }

    private static JsonNode? Merge(JsonNode? left, JsonNode? right, string path, string leftName, string rightName, ConflictPolicy policy, bool concatArrays, List<MergeConflict> conflicts)
    {
        if (left is JsonObject a && right is JsonObject b)
        {
            foreach (var (key, value) in b.ToList())
            {
                var child = $"{path}.{key}";
                if (!a.ContainsKey(key))
                {
                    b.Remove(key);
                    a[key] = value;
                    continue;
                }

                var existing = a[key];
                var mergedChild = Merge(existing, value?.DeepClone(), child, leftName, rightName, policy, concatArrays, conflicts);
                if (!ReferenceEquals(mergedChild, existing))
                {
                    a[key] = mergedChild is null ? null : mergedChild.Parent is null ? mergedChild : mergedChild.DeepClone();
                }
            }

            return a;
        }

        if (left is JsonArray x && right is JsonArray y && concatArrays)
        {
            foreach (var item in y)
            {
                if (!x.Any(existing => JsonNode.DeepEquals(existing, item)))
                {
                    x.Add(item?.DeepClone());
                }
            }

            return x;
        }

        if (JsonNode.DeepEquals(left, right))
        {
            return left;
        }

        var resolved = policy is ConflictPolicy.PreferFirst or ConflictPolicy.PreferLast;
        conflicts.Add(new MergeConflict(path, $"{leftName} has {Show(left)}, {rightName} has {Show(right)}{(policy switch
        {
            ConflictPolicy.PreferFirst => $"; kept {leftName}'s",
            ConflictPolicy.PreferLast => $"; kept {rightName}'s",
            _ => $"; kept {leftName}'s until reviewed",
        })}", resolved));
        return policy == ConflictPolicy.PreferLast ? right : left;
    }

    private static string Show(JsonNode? node)
    {
        var text = node?.ToJsonString() ?? "null";
        return text.Length <= 60 ? text : text[..57] + "...";
    }
}
