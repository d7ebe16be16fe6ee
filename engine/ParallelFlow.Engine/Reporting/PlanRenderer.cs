using System.Globalization;
using System.Text;
using System.Text.Json;
using ParallelFlow.Engine.Analysis;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Reporting;

/// <summary>Shows a plan's shape: its waves, critical path and bounds as text or JSON, or its graph as Mermaid or
/// Graphviz DOT. Hard dependencies are solid edges, soft ones dashed; critical-path tasks are highlighted.</summary>
public static class PlanRenderer
{
    /// <summary>The formats <see cref="Render"/> accepts.</summary>
    public static IReadOnlyList<string> Formats { get; } = ["text", "json", "mermaid", "dot"];

    /// <summary>Renders a plan.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="analysis">Its analysis.</param>
    /// <param name="workers">The worker count the lower bound is computed for.</param>
    /// <param name="format">One of <see cref="Formats"/>.</param>
    /// <returns>The rendering.</returns>
    /// <exception cref="ArgumentException">The format is unknown.</exception>
    public static string Render(PlanDefinition plan, PlanAnalysis analysis, int workers, string format)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(analysis);
        return format switch
        {
            "text" => Text(plan, analysis, workers),
            "json" => Json(plan, analysis, workers),
            "mermaid" => Mermaid(plan, analysis),
            "dot" => Dot(plan, analysis),
            _ => throw new ArgumentException($"Unknown format '{format}'; use one of {string.Join(", ", Formats)}.", nameof(format)),
        };
    }

    private static string Text(PlanDefinition plan, PlanAnalysis analysis, int workers)
    {
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.AppendLine(c, $"Plan {plan.Id}: {analysis.TaskCount} tasks, {analysis.EdgeCount} dependencies, {analysis.Waves.Count} waves, max width {analysis.MaxWidth}");
        if (plan.Description.Length > 0)
        {
            text.AppendLine(plan.Description);
        }

        if (plan.Inputs.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("inputs:");
            foreach (var input in plan.Inputs.Values)
            {
                text.Append("  ").AppendLine(PlanInputs.Describe(input));
            }
        }

        text.AppendLine();
        for (var i = 0; i < analysis.Waves.Count; i++)
        {
            text.AppendLine(c, $"wave {i} ({analysis.Waves[i].Count}): {string.Join(", ", analysis.Waves[i])}");
        }

        text.AppendLine();
        text.AppendLine(c, $"critical path: {string.Join(" → ", analysis.CriticalPath)} ({analysis.CriticalPathSeconds:0.###}s estimated)");
        text.AppendLine(c, $"total work:    {analysis.TotalWorkSeconds:0.###}s estimated");
        text.AppendLine(c, $"lower bound:   {analysis.LowerBoundSeconds(workers):0.###}s on {workers} workers = max(critical path, work / workers)");
        text.AppendLine(c, $"best speedup:  {analysis.TotalWorkSeconds / Math.Max(1e-9, analysis.LowerBoundSeconds(workers)):0.##}x");
        var simulated = SchedulingStrategies.BuiltIn.Select(s => $"{s} {ListScheduleSimulation.Makespan(plan, workers, s):0.###}s");
        text.AppendLine(c, $"simulated:     {string.Join(" · ", simulated)} (list scheduling on {workers} workers, estimates exact, no overhead)");
        var learned = plan.Tasks.Where(t => t.Learned is not null).ToList();
        if (learned.Count > 0)
        {
            // The tasks whose learned duration is furthest from what the plan says first: where the plan guessed worst.
            const int Shown = 20;
            text.AppendLine();
            text.AppendLine(c, $"estimates: {learned.Count} of {plan.Tasks.Count} tasks plan with what earlier runs measured (--no-history for the plan's own); furthest from the plan first:");
            var width = Math.Max(4, learned.Max(t => t.Id.Length));
            text.AppendLine(c, $"  {"task".PadRight(width)}  {"plan",10}  {"learned",10}  from");
            foreach (var task in learned.OrderByDescending(t => Math.Abs(Math.Log(Math.Max(t.Learned!.Seconds, 1e-6) / (t.EstimateSeconds ?? 1)))).ThenBy(t => t.Id, StringComparer.Ordinal).Take(Shown))
            {
                var from = task.Learned!.FromWorkerType ? $"the median of {task.Learned.Samples} {task.Worker} task(s)" : $"the median of {task.Learned.Samples} run(s)";
                text.AppendLine(c, $"  {task.Id.PadRight(width)}  {(task.EstimateSeconds is { } written ? $"{written:0.###}s" : "none"),10}  {$"{task.Learned.Seconds:0.###}s",10}  {from}");
            }

            if (learned.Count > Shown)
            {
                text.AppendLine(c, $"  … and {learned.Count - Shown} more (--format json lists every one)");
            }
        }

        return text.ToString();
    }

    private static string Json(PlanDefinition plan, PlanAnalysis analysis, int workers)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("plan_id", plan.Id);
            writer.WriteNumber("tasks", analysis.TaskCount);
            writer.WriteNumber("dependencies", analysis.EdgeCount);
            writer.WriteNumber("max_width", analysis.MaxWidth);
            writer.WriteNumber("sync_points", analysis.SyncPoints);
            writer.WriteStartObject("inputs");
            foreach (var input in plan.Inputs.Values)
            {
                writer.WriteStartObject(input.Name);
                writer.WriteString("type", PlanInputs.NameOf(input.Type));
                writer.WriteBoolean("required", input.IsRequired);
                if (input.Default is { } fallback)
                {
                    writer.WritePropertyName("default");
                    fallback.WriteTo(writer);
                }

                if (input.Description.Length > 0)
                {
                    writer.WriteString("description", input.Description);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteStartArray("waves");
            foreach (var wave in analysis.Waves)
            {
                writer.WriteStartArray();
                foreach (var id in wave)
                {
                    writer.WriteStringValue(id);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("critical_path");
            foreach (var id in analysis.CriticalPath)
            {
                writer.WriteStringValue(id);
            }

            writer.WriteEndArray();
            writer.WriteNumber("critical_path_seconds", analysis.CriticalPathSeconds);
            writer.WriteNumber("total_work_seconds", analysis.TotalWorkSeconds);
            writer.WriteNumber("workers", workers);
            writer.WriteNumber("lower_bound_seconds", analysis.LowerBoundSeconds(workers));
            writer.WriteStartArray("estimates");
            foreach (var task in plan.Tasks)
            {
                writer.WriteStartObject();
                writer.WriteString("id", task.Id);
                if (task.EstimateSeconds is { } written)
                {
                    writer.WriteNumber("plan_seconds", written);
                }
                else
                {
                    writer.WriteNull("plan_seconds");
                }

                if (task.Learned is { } learned)
                {
                    writer.WriteNumber("learned_seconds", learned.Seconds);
                    writer.WriteNumber("samples", learned.Samples);
                    writer.WriteString("learned_from", learned.FromWorkerType ? "worker_type" : "task");
                    if (learned.Tokens is { } tokens)
                    {
                        writer.WriteNumber("learned_tokens", tokens);
                    }

                    if (learned.Cost is { } cost)
                    {
                        writer.WriteNumber("learned_cost", cost);
                    }
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + Environment.NewLine;
    }

    private static string Mermaid(PlanDefinition plan, PlanAnalysis analysis)
    {
        var text = new StringBuilder("flowchart LR").AppendLine();
        var ids = NodeIds(plan);
        var critical = analysis.CriticalPath.ToHashSet(StringComparer.Ordinal);
        foreach (var task in plan.Tasks)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    {ids[task.Id]}[\"{Escape(task.Id)}<br/><i>{Escape(task.Worker)}</i>\"]");
        }

        foreach (var task in plan.Tasks)
        {
            foreach (var dependency in task.DependsOn)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    {ids[dependency]} --> {ids[task.Id]}");
            }

            foreach (var dependency in task.After)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    {ids[dependency]} -.-> {ids[task.Id]}");
            }
        }

        text.AppendLine("    classDef critical stroke:#d33,stroke-width:3px");
        if (critical.Count > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    class {string.Join(",", plan.Tasks.Where(t => critical.Contains(t.Id)).Select(t => ids[t.Id]))} critical");
        }

        return text.ToString();
    }

    private static string Dot(PlanDefinition plan, PlanAnalysis analysis)
    {
        var text = new StringBuilder();
        var critical = analysis.CriticalPath.ToHashSet(StringComparer.Ordinal);
        text.AppendLine(CultureInfo.InvariantCulture, $"digraph \"{Escape(plan.Id)}\" {{");
        text.AppendLine("    rankdir=LR;");
        text.AppendLine("    node [shape=box, style=rounded];");
        foreach (var task in plan.Tasks)
        {
            var style = critical.Contains(task.Id) ? ", color=red, penwidth=2" : string.Empty;
            text.AppendLine(CultureInfo.InvariantCulture, $"    \"{Escape(task.Id)}\" [label=\"{Escape(task.Id)}\\n{Escape(task.Worker)}\"{style}];");
        }

        foreach (var task in plan.Tasks)
        {
            foreach (var dependency in task.DependsOn)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    \"{Escape(dependency)}\" -> \"{Escape(task.Id)}\";");
            }

            foreach (var dependency in task.After)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    \"{Escape(dependency)}\" -> \"{Escape(task.Id)}\" [style=dashed];");
            }
        }

        text.AppendLine("}");
        return text.ToString();
    }

    // Mermaid node ids must be simple words; task ids may hold '-', '.' and ':'.
    private static Dictionary<string, string> NodeIds(PlanDefinition plan) =>
        plan.Tasks.Select((t, i) => (t.Id, Node: $"t{i}")).ToDictionary(p => p.Id, p => p.Node, StringComparer.Ordinal);

    private static string Escape(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}
