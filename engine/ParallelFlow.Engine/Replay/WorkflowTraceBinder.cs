using System.Globalization;
using System.Text.Json.Nodes;

using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Replay;

/// <summary>
/// WfCommons workflow traces (WfFormat: <c>workflow.specification.tasks</c> with parents, <c>workflow.execution.tasks</c>
/// with <c>runtimeInSeconds</c>) read as a plan of <c>simulate</c> tasks that sleep their recorded runtime times a
/// scale, so any strategy can be run on real workflow shapes.
/// </summary>
internal sealed class WorkflowTraceBinder : NodeBinder
{
    private WorkflowTraceBinder(string source)
        : base(source)
    {
    }

    /// <summary>The default replay speed: one recorded second takes one millisecond.</summary>
    public const double DefaultTimeScale = 0.001;

    internal static bool IsWorkflow(PlanNode root) =>
        root is ObjectNode obj && obj.Find("workflow")?.Value is ObjectNode workflow && workflow.Find("specification") is not null;

    public static (PlanDefinition Plan, IReadOnlyList<PlanError> Errors) BindWorkflow(PlanNode root, string source, double timeScale, ReplayMode mode = ReplayMode.Sleep)
    {
        var binder = new WorkflowTraceBinder(source);
        var plan = binder.BindWorkflowRoot((ObjectNode)root, source, timeScale, mode);
        return (plan, binder._errors);
    }

    private PlanDefinition BindWorkflowRoot(ObjectNode root, string source, double timeScale, ReplayMode mode)
    {
        var name = root.Find("name")?.Value is ScalarNode { Kind: ScalarKind.String } n ? n.Text : Path.GetFileNameWithoutExtension(source);
        var description = root.Find("description")?.Value is ScalarNode { Kind: ScalarKind.String } d ? d.Text : string.Empty;
        var workflow = (ObjectNode)root.Find("workflow")!.Value;
        var runtimes = new Dictionary<string, double>(StringComparer.Ordinal);
        if (workflow.Find("execution")?.Value is ObjectNode execution && execution.Find("tasks")?.Value is ArrayNode executed)
        {
            foreach (var item in executed.Items.OfType<ObjectNode>())
            {
                if (item.Find("id")?.Value is ScalarNode { Kind: ScalarKind.String } id
                    && item.Find("runtimeInSeconds")?.Value is ScalarNode { Kind: ScalarKind.Number } runtime)
                {
                    runtimes[id.Text] = double.Parse(runtime.Text, NumberStyles.Float, CultureInfo.InvariantCulture);
                }
            }
        }

        var tasks = new List<TaskDefinition>();
        if (workflow.Find("specification")?.Value is not ObjectNode specification || specification.Find("tasks")?.Value is not ArrayNode specified)
        {
            _errors.Add(new PlanError(PlanError.MissingCode, "a WfFormat workflow needs workflow.specification.tasks", source, workflow.Position, null));
            return new PlanDefinition { Id = name, Tasks = tasks, SourceFile = source, SourceMap = _map };
        }

        for (var i = 0; i < specified.Items.Count; i++)
        {
            if (specified.Items[i] is not ObjectNode task || task.Find("id")?.Value is not ScalarNode { Kind: ScalarKind.String } idNode)
            {
                _errors.Add(new PlanError(PlanError.MissingCode, $"workflow.specification.tasks[{i}] has no 'id'", source, specified.Items[i].Position, null));
                continue;
            }

            var id = idNode.Text;
            _map.Add($"tasks[{tasks.Count}]", task.Position);
            if (!runtimes.TryGetValue(id, out var seconds))
            {
                // Reported, and kept with no runtime so that its children do not also report a missing parent.
                _errors.Add(new PlanError(PlanError.MissingCode, $"task '{id}' has no runtimeInSeconds in workflow.execution.tasks", source, task.Position, id));
            }

            var parents = task.Find("parents")?.Value is ArrayNode list
                ? list.Items.OfType<ScalarNode>().Where(p => p.Kind == ScalarKind.String).Select(p => p.Text).ToList()
                : [];
            var scaled = seconds * timeScale;
            tasks.Add(new TaskDefinition
            {
                Id = id,
                Worker = "simulate",
                Description = task.Find("name")?.Value is ScalarNode { Kind: ScalarKind.String } taskName ? taskName.Text : id,
                DependsOn = parents,
                EstimateSeconds = scaled,
                With = mode == ReplayMode.Cpu
                    ? Diagnostics.EngineJson.Element(new JsonObject { ["seconds"] = scaled, ["mode"] = "cpu" })
                    : Diagnostics.EngineJson.Element(new JsonObject { ["seconds"] = scaled }),
            });
        }

        return new PlanDefinition
        {
            Id = name,
            Description = string.Create(CultureInfo.InvariantCulture, $"{description} (WfCommons trace replayed at {timeScale:0.######}x recorded time{(mode == ReplayMode.Cpu ? ", CPU-bound" : "")})").Trim(),
            Tasks = tasks,
            SourceFile = source,
            SourceMap = _map,
        };
    }
}
