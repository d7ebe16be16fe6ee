using System.Text;
using System.Text.Json;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Workers;

namespace ParallelFlow.Engine.Execution;

/// <summary>One task a resume runs again after an edit, and why.</summary>
/// <param name="TaskId">The task.</param>
/// <param name="Reasons">What changed in its definition (<c>with.prompt: … then, … now</c>), that it is new, that it
/// was asked for (<c>--from</c>), or which task it depends on that runs again.</param>
/// <param name="Inherited">Whether it runs again only because a task it depends on does (its own definition is as
/// recorded).</param>
public sealed record TaskEdit(string TaskId, IReadOnlyList<string> Reasons, bool Inherited);

/// <summary>What an edit to a plan means for a run recorded with the plan as it was: the tasks that run again (changed,
/// new, asked for, and every task that depends on one of them) and the tasks that are gone. Every other task keeps its
/// recorded output.</summary>
public sealed class PlanEdit
{
    /// <summary>Creates the edit.</summary>
    /// <param name="edits">The tasks that run again, in the plan's order.</param>
    /// <param name="removed">Recorded tasks the plan no longer has, in id order.</param>
    public PlanEdit(IReadOnlyList<TaskEdit> edits, IReadOnlyList<string> removed)
    {
        Edits = edits ?? throw new ArgumentNullException(nameof(edits));
        Removed = removed ?? throw new ArgumentNullException(nameof(removed));
        Rerun = edits.Select(e => e.TaskId).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The tasks that run again, in the plan's order.</summary>
    public IReadOnlyList<TaskEdit> Edits { get; }

    /// <summary>Recorded tasks the plan no longer has, in id order.</summary>
    public IReadOnlyList<string> Removed { get; }

    /// <summary>The ids of the tasks that run again.</summary>
    public IReadOnlySet<string> Rerun { get; }

    /// <summary>Whether the edit changes nothing any task computes.</summary>
    public bool IsEmpty => Edits.Count == 0 && Removed.Count == 0;
}

/// <summary>
/// Task fingerprints: what in a task's definition its output depends on — its worker and the worker assembly's
/// version, its description, its parameters (<c>with</c>, as written, keys sorted) and the tasks it depends on — as
/// canonical JSON. A journal records them when a run starts, so that resuming the run after the plan was edited runs
/// again exactly the tasks whose fingerprint changed and everything that depends on them, as a build tool's content
/// hashes do. Priorities, time limits, retries, estimates and <c>after</c> orderings change how a task is scheduled,
/// not what it computes, and are not part of it; nor is the config file, which holds only such settings.
/// </summary>
public static class PlanEdits
{
    /// <summary>Text as written (<c>&gt;&gt;</c>, not <c>\u003E\u003E</c>), so that the reasons quote it as the plan has it.</summary>
    private static readonly JsonWriterOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The fingerprint of each task of a compiled plan, by id, with the workers it was compiled against.</summary>
    /// <param name="plan">The compiled plan.</param>
    /// <returns>Canonical JSON per task id.</returns>
    public static IReadOnlyDictionary<string, string> Fingerprints(CompiledPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return Fingerprints(plan.Definition, plan.Catalog);
    }

    /// <summary>The fingerprint of each task of a plan, by id.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="catalog">The workers the plan runs with (their assemblies' versions are part of each fingerprint).</param>
    /// <returns>Canonical JSON per task id.</returns>
    public static IReadOnlyDictionary<string, string> Fingerprints(PlanDefinition plan, WorkerCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(catalog);
        var fingerprints = new Dictionary<string, string>(plan.Tasks.Count, StringComparer.Ordinal);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        foreach (var task in plan.Tasks)
        {
            var worker = task.InlineWorker ?? (catalog.TryGetWorker(task.Worker, out var found) ? found : null);
            var assembly = worker?.GetType().Assembly;
            buffer.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(buffer, Readable))
            {
                writer.WriteStartObject();
                writer.WriteString("worker", task.Worker);
                writer.WriteString("version", assembly is null ? "unknown" : $"{assembly.GetName().Name} {AssemblyVersions.Of(assembly)}");
                writer.WriteString("description", task.Description);
                writer.WritePropertyName("with");
                JsonCopy.Write(task.With, writer, sortKeys: true);
                writer.WriteStartArray("depends_on");
                foreach (var dependency in task.DependsOn.Order(StringComparer.Ordinal))
                {
                    writer.WriteStringValue(dependency);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            fingerprints[task.Id] = Encoding.UTF8.GetString(buffer.WrittenSpan);
        }

        return fingerprints;
    }

    /// <summary>Compares the fingerprints recorded for a run with a plan's: the tasks to run again and why.</summary>
    /// <param name="recorded">The fingerprints the run was recorded with, by task id.</param>
    /// <param name="plan">The plan as it is now.</param>
    /// <param name="current">The plan's fingerprints (<see cref="Fingerprints(PlanDefinition, WorkerCatalog)"/>).</param>
    /// <param name="from">Tasks to run again whatever their fingerprint (<c>resume --from</c>), with everything that
    /// depends on them.</param>
    /// <returns>The edit.</returns>
    /// <exception cref="KeyNotFoundException">A task of <paramref name="from"/> is not in the plan; the message
    /// suggests the closest id.</exception>
    public static PlanEdit Compare(IReadOnlyDictionary<string, string> recorded, PlanDefinition plan, IReadOnlyDictionary<string, string> current, IEnumerable<string>? from = null)
    {
        ArgumentNullException.ThrowIfNull(recorded);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(current);
        var forced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in from ?? [])
        {
            if (!current.ContainsKey(id))
            {
                var close = Sdk.Suggestions.Closest(id, current.Keys);
                throw new KeyNotFoundException($"the plan has no task '{DisplayText.Shorten(id)}'{(close is null ? string.Empty : $"; did you mean '{close}'?")}");
            }

            forced.Add(id);
        }

        // In dependency order, so one pass sees whether each task's dependencies run again before the task.
        var edits = new List<TaskEdit>();
        var rerun = new HashSet<string>(StringComparer.Ordinal);
        foreach (var task in Topological(plan))
        {
            var reasons = new List<string>();
            if (forced.Contains(task.Id))
            {
                reasons.Add("asked for with --from");
            }

            if (!recorded.TryGetValue(task.Id, out var before))
            {
                reasons.Add("a new task");
            }
            else if (before != current[task.Id])
            {
                reasons.AddRange(Differences(before, current[task.Id]));
            }

            var inherited = false;
            if (reasons.Count == 0 && task.DependsOn.FirstOrDefault(rerun.Contains) is { } upstream)
            {
                reasons.Add($"it depends on '{upstream}', which runs again");
                inherited = true;
            }

            if (reasons.Count > 0)
            {
                rerun.Add(task.Id);
                edits.Add(new TaskEdit(task.Id, reasons, inherited));
            }
        }

        var order = plan.Tasks.Select((t, i) => (t.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
        edits.Sort((a, b) => order[a.TaskId].CompareTo(order[b.TaskId]));
        return new PlanEdit(edits, [.. recorded.Keys.Where(id => !current.ContainsKey(id)).Order(StringComparer.Ordinal)]);
    }

    /// <summary>The plan's tasks with every task after those it depends on.</summary>
    private static IEnumerable<TaskDefinition> Topological(PlanDefinition plan) => plan.Graph.TopologicalOrder().Select(i => plan.Tasks[i]);

    /// <summary>What differs between two fingerprints of one task, one line each.</summary>
    private static IEnumerable<string> Differences(string before, string after)
    {
        using var then = JsonDocument.Parse(before);
        using var now = JsonDocument.Parse(after);
        var a = then.RootElement;
        var b = now.RootElement;
        foreach (var (name, shown) in new[] { ("worker", "worker"), ("version", "worker version"), ("description", "description") })
        {
            var x = a.TryGetProperty(name, out var p) ? p.GetString() : null;
            var y = b.TryGetProperty(name, out var q) ? q.GetString() : null;
            if (x != y)
            {
                yield return $"{shown}: {Quoted(x)} then, {Quoted(y)} now";
            }
        }

        var withThen = a.TryGetProperty("with", out var w1) && w1.ValueKind == JsonValueKind.Object ? w1 : default;
        var withNow = b.TryGetProperty("with", out var w2) && w2.ValueKind == JsonValueKind.Object ? w2 : default;
        var keys = Keys(withThen).Union(Keys(withNow)).Order(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var x = withThen.ValueKind == JsonValueKind.Object && withThen.TryGetProperty(key, out var p) ? p.GetRawText() : null;
            var y = withNow.ValueKind == JsonValueKind.Object && withNow.TryGetProperty(key, out var q) ? q.GetRawText() : null;
            if (x != y)
            {
                yield return $"with.{key}: {Cut(x) ?? "(absent)"} then, {Cut(y) ?? "(absent)"} now";
            }
        }

        var depsThen = Strings(a, "depends_on");
        var depsNow = Strings(b, "depends_on");
        foreach (var added in depsNow.Except(depsThen))
        {
            yield return $"it depends on '{added}' now";
        }

        foreach (var dropped in depsThen.Except(depsNow))
        {
            yield return $"it no longer depends on '{dropped}'";
        }
    }

    private static IEnumerable<string> Keys(JsonElement value) =>
        value.ValueKind == JsonValueKind.Object ? value.EnumerateObject().Select(p => p.Name) : [];

    private static List<string> Strings(JsonElement value, string name) =>
        value.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array ? [.. list.EnumerateArray().Select(e => e.GetString() ?? string.Empty)] : [];

    private static string Quoted(string? text) => text is null ? "(absent)" : $"'{Cut(text)}'";

    /// <summary>A value short enough for one line of a terminal.</summary>
    private static string? Cut(string? text) => text is null || text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 57), "...");
}
