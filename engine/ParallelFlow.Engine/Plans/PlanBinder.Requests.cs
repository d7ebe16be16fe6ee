using System.Buffers;
using System.Text.Json;

namespace ParallelFlow.Engine.Plans;

/// <summary>
/// Requests in the shape parallel task executors take (<c>{ "task_id", "mode": "voting", "main_task", "voters",
/// "aggregation", "timeout_seconds" }</c>), bound as a plan of one task so they run as they are. Positions are kept:
/// a problem with a voter points at that voter.
/// </summary>
internal sealed partial class PlanBinder
{
    private static readonly string[] Modes = ["voting", "sectioning"];
    private static readonly string[] SectioningKeys = ["task_id", "mode", "description", "main_task", "parallelism_hint", "timeout_seconds", "worker", "with", "merger", "merging"];
    private static readonly string[] SectioningMainKeys = ["description", "components", "context"];
    private static readonly string[] VotingKeys = ["task_id", "mode", "description", "main_task", "voters", "aggregation", "timeout_seconds", "quorum"];
    private static readonly string[] MainTaskKeys = ["description", "evaluation_criteria", "context"];
    private static readonly string[] VoterKeys = ["voter_id", "id", "name", "model", "approach", "prompt", "worker", "with", "temperature", "seed", "max_tokens", "timeout_seconds"];
    private static readonly string[] Aggregations = ["weighted_score", "weighted", "consensus", "majority", "majority_vote", "pareto", "synthesis", "hybrid"];

    /// <summary>Criterion names of requests that map onto a metric of the result; any other name is measured by agreement.</summary>
    private static readonly Dictionary<string, (string Metric, string? Goal)> KnownCriteria = new(StringComparer.OrdinalIgnoreCase)
    {
        ["speed"] = ("duration", null),
        ["performance"] = ("duration", null),
        ["latency"] = ("duration", null),
        ["duration"] = ("duration", null),
        ["cost"] = ("cost", null),
        ["tokens"] = ("tokens", null),
        ["efficiency"] = ("tokens", null),
        ["brevity"] = ("length", null),
        ["conciseness"] = ("length", null),
        ["length"] = ("length", null),
    };

    private PlanDefinition BindRequest(ObjectNode obj, string source, PropertyNode modeProperty)
    {
        var mode = Enum(modeProperty.Value, "mode", Modes, null);
        _map.Add(string.Empty, obj.Position);
        var id = obj.Find("task_id") is { } idNode ? String(idNode.Value, "task_id", null) : null;
        var taskId = id ?? Path.GetFileNameWithoutExtension(source);
        if (mode == "sectioning")
        {
            return BindSectioning(obj, source, taskId);
        }

        if (mode != "voting")
        {
            return Request(taskId, source, [], string.Empty, "voting");
        }

        string description = string.Empty, aggregation = "weighted_score";
        double? timeout = null;
        int? quorum = null;
        PlanNode? criteria = null;
        ArrayNode? voters = null;
        foreach (var property in obj.Properties)
        {
            _map.Add(property.Key, property.KeyPosition);
            switch (property.Key)
            {
                case "task_id" or "mode":
                    break;
                case "description":
                    description = String(property.Value, property.Key, taskId) ?? description;
                    break;
                case "main_task":
                    (description, criteria) = BindMainTask(property.Value, "evaluation_criteria", MainTaskKeys, description, taskId);
                    break;
                case "voters":
                    voters = property.Value as ArrayNode;
                    if (voters is null || voters.Items.Count == 0)
                    {
                        _errors.Add(new PlanError(PlanError.WrongTypeCode, "voters must be a non-empty list of voters (model names or objects)", _map.Source, property.Value.Position, taskId));
                    }

                    break;
                case "aggregation":
                    aggregation = Enum(property.Value, "aggregation", Aggregations, taskId) ?? aggregation;
                    break;
                case "timeout_seconds":
                    timeout = Number(property.Value, "timeout_seconds", taskId, min: 0, minExclusive: true);
                    break;
                case "quorum":
                    quorum = Integer(property.Value, "quorum", taskId, min: 1);
                    break;
                default:
                    ReportUnknownKey(property, VotingKeys, "voting request", taskId);
                    break;
            }
        }

        if (voters is null && obj.Find("voters") is null)
        {
            _errors.Add(_map.Error(PlanError.MissingCode, string.Empty, "a voting request needs 'voters'", taskId));
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("scorer", aggregation switch
            {
                "consensus" or "majority" or "majority_vote" => "consensus",
                "pareto" => "pareto",
                "synthesis" or "hybrid" => "synthesis",
                _ => "weighted",
            });
            if (quorum is { } q)
            {
                writer.WriteNumber("quorum", q);
            }

            if (timeout is { } t)
            {
                writer.WriteNumber("candidate_timeout_seconds", t);
            }

            WriteScoring(writer, aggregation, criteria, taskId);
            writer.WriteStartArray("candidates");
            for (var i = 0; voters is not null && i < voters.Items.Count; i++)
            {
                WriteVoter(writer, voters.Items[i], i, description, taskId);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        var task = new TaskDefinition
        {
            Id = taskId,
            Worker = "vote",
            Description = description,
            With = document.RootElement.Clone(),
            TimeoutSeconds = timeout,
        };
        _map.Add("tasks[0]", obj.Position);
        _map.Add("tasks[0].with", obj.Position);
        return Request(taskId, source, [task], description);
    }

    /// <summary>Reads <c>main_task</c>: its description (else <paramref name="description"/>) and the node under <paramref name="listKey"/>.</summary>
    private (string Description, PlanNode? List) BindMainTask(PlanNode node, string listKey, string[] keys, string description, string taskId)
    {
        PlanNode? list = null;
        if (ExpectObject(node, "main_task", taskId) is not { } main)
        {
            return (description, list);
        }

        foreach (var part in main.Properties)
        {
            if (part.Key == "description")
            {
                description = String(part.Value, "main_task.description", taskId) ?? description;
            }
            else if (part.Key == listKey)
            {
                list = part.Value;
            }
            else if (part.Key != "context")
            {
                ReportUnknownKey(part, keys, "main_task", taskId);
            }
        }

        return (description, list);
    }

    private PlanDefinition Request(string id, string source, List<TaskDefinition> tasks, string description, string mode = "voting") => new()
    {
        Id = id,
        Description = description,
        Mode = mode,
        Tasks = tasks,
        SourceFile = source,
        SourceMap = _map,
    };

    /// <summary>
    /// A sectioning request: each component is a section run by the request's <c>worker</c> (default <c>llm</c>, asked
    /// for the description and the component), merged by its <c>merger</c> (default <c>concat</c>).
    /// </summary>
    private PlanDefinition BindSectioning(ObjectNode obj, string source, string taskId)
    {
        string description = string.Empty, worker = "llm", merger = "concat";
        double? timeout = null;
        int? parallelism = null;
        ArrayNode? components = null;
        ObjectNode? with = null, merging = null;
        foreach (var property in obj.Properties)
        {
            _map.Add(property.Key, property.KeyPosition);
            switch (property.Key)
            {
                case "task_id" or "mode":
                    break;
                case "description":
                    description = String(property.Value, property.Key, taskId) ?? description;
                    break;
                case "main_task":
                    PlanNode? list;
                    (description, list) = BindMainTask(property.Value, "components", SectioningMainKeys, description, taskId);
                    components = list as ArrayNode;
                    if (list is not null && components is null)
                    {
                        WrongType(list, "main_task.components", "a list of components", taskId);
                    }

                    break;
                case "parallelism_hint":
                    parallelism = Integer(property.Value, "parallelism_hint", taskId, min: 1);
                    break;
                case "timeout_seconds":
                    timeout = Number(property.Value, "timeout_seconds", taskId, min: 0, minExclusive: true);
                    break;
                case "worker":
                    worker = String(property.Value, "worker", taskId) ?? worker;
                    _map.Add("tasks[0].with.worker", property.KeyPosition);
                    break;
                case "merger":
                    merger = String(property.Value, "merger", taskId) ?? merger;
                    _map.Add("tasks[0].with.merger", property.KeyPosition);
                    break;
                case "with":
                    with = ExpectObject(property.Value, "with", taskId);
                    break;
                case "merging":
                    merging = ExpectObject(property.Value, "merging", taskId);
                    break;
                default:
                    ReportUnknownKey(property, SectioningKeys, "sectioning request", taskId);
                    break;
            }
        }

        if (components is null && obj.Find("main_task") is not null)
        {
            _errors.Add(_map.Error(PlanError.MissingCode, "main_task", "a sectioning request needs main_task.components", taskId));
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("sections");
            for (var i = 0; components is not null && i < components.Items.Count; i++)
            {
                var item = components.Items[i];
                _map.Add($"tasks[0].with.sections[{i}]", item.Position);
                writer.WriteStartObject();
                if (item is ObjectNode component)
                {
                    var name = component.Find("name") ?? component.Find("id") ?? component.Find("component_id");
                    writer.WriteString("name", name?.Value is ScalarNode { Kind: ScalarKind.String } n ? n.Text : $"component-{i + 1}");
                    writer.WritePropertyName("value");
                    if (component.Find("description")?.Value is ScalarNode { Kind: ScalarKind.String } d)
                    {
                        writer.WriteStringValue(d.Text);
                    }
                    else
                    {
                        writer.WriteStringValue(JsonSerializer.Serialize(component.ToJsonElement()));
                    }
                }
                else if (item is ScalarNode scalar)
                {
                    writer.WriteString("name", scalar.Text);
                    writer.WriteString("value", scalar.Text);
                }
                else
                {
                    WrongType(item, $"main_task.components[{i}]", "a string or an object", taskId);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteString("worker", worker);
            writer.WritePropertyName("with");
            if (with is not null)
            {
                RecordPositions(with, "tasks[0].with.with");
                with.WriteTo(writer);
            }
            else
            {
                writer.WriteStartObject();
                writer.WriteString("prompt", "{{description}}\n\nPart: {{section}}");
                writer.WriteEndObject();
            }

            if (parallelism is { } p)
            {
                writer.WriteNumber("parallelism", p);
                writer.WriteNumber("capacity", p * 2);
            }

            writer.WriteString("merger", merger);
            if (merging is not null)
            {
                RecordPositions(merging, "tasks[0].with.merging");
                writer.WritePropertyName("merging");
                merging.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        _map.Add("tasks[0]", obj.Position);
        _map.Add("tasks[0].with", obj.Position);
        var task = new TaskDefinition { Id = taskId, Worker = "section", Description = description, With = document.RootElement.Clone(), TimeoutSeconds = timeout };
        return Request(taskId, source, [task], description, "sectioning");
    }

    private void WriteScoring(Utf8JsonWriter writer, string aggregation, PlanNode? criteria, string taskId)
    {
        if (aggregation is "consensus" or "majority" or "majority_vote")
        {
            if (criteria is not null)
            {
                _errors.Add(new PlanError(PlanError.InvalidValueCode, $"aggregation '{aggregation}' groups agreeing answers and takes no evaluation_criteria; use weighted_score or pareto to weigh criteria", _map.Source, criteria.Position, taskId));
            }

            return;
        }

        writer.WriteStartObject("scoring");
        if (aggregation is "synthesis" or "hybrid")
        {
            writer.WriteString("merger", "lines");
        }

        var items = criteria switch
        {
            null => [],
            ArrayNode array => array.Items,
            _ => null,
        };
        if (items is null)
        {
            WrongType(criteria!, "main_task.evaluation_criteria", "a list of criteria", taskId);
            items = [];
        }

        if (items.Count > 0 || aggregation is not ("synthesis" or "hybrid"))
        {
            writer.WriteStartArray("criteria");
            if (items.Count == 0)
            {
                // Without criteria, agreement with the other answers is the measure.
                writer.WriteStartObject();
                writer.WriteString("name", "agreement");
                writer.WriteString("metric", "agreement");
                writer.WriteEndObject();
            }

            for (var i = 0; i < items.Count; i++)
            {
                var path = $"tasks[0].with.scoring.criteria[{i}]";
                _map.Add(path, items[i].Position);
                switch (items[i])
                {
                    case ScalarNode { Kind: ScalarKind.String } name:
                        writer.WriteStartObject();
                        writer.WriteString("name", name.Text);
                        if (KnownCriteria.TryGetValue(name.Text, out var known))
                        {
                            writer.WriteString("metric", known.Metric);
                        }
                        else
                        {
                            writer.WriteString("metric", "agreement");
                        }

                        writer.WriteEndObject();
                        break;
                    case ObjectNode criterion:
                        RecordPositions(criterion, path);
                        criterion.WriteTo(writer);
                        break;
                    default:
                        WrongType(items[i], "main_task.evaluation_criteria", "criterion names or {name, weight, metric | command | judge} objects", taskId);
                        break;
                }
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private void WriteVoter(Utf8JsonWriter writer, PlanNode node, int index, string description, string taskId)
    {
        var path = $"tasks[0].with.candidates[{index}]";
        _map.Add(path, node.Position);
        if (node is ScalarNode { Kind: ScalarKind.String } model)
        {
            WriteLlmCandidate(writer, model.Text, model.Text, description, null, []);
            return;
        }

        if (ExpectObject(node, $"voters[{index}]", taskId) is not { } voter)
        {
            return;
        }

        string? name = null, modelName = null, approach = null, prompt = null, worker = null;
        ObjectNode? with = null;
        var settings = new List<PropertyNode>();
        foreach (var property in voter.Properties)
        {
            _map.Add($"{path}.{property.Key}", property.KeyPosition);
            switch (property.Key)
            {
                case "voter_id" or "id" or "name":
                    name = String(property.Value, $"voters[{index}].{property.Key}", taskId);
                    break;
                case "model":
                    modelName = String(property.Value, $"voters[{index}].model", taskId);
                    _map.Add($"{path}.with.model", property.KeyPosition);
                    break;
                case "approach":
                    approach = String(property.Value, $"voters[{index}].approach", taskId);
                    break;
                case "prompt":
                    prompt = String(property.Value, $"voters[{index}].prompt", taskId);
                    break;
                case "worker":
                    worker = String(property.Value, $"voters[{index}].worker", taskId);
                    break;
                case "with":
                    with = ExpectObject(property.Value, $"voters[{index}].with", taskId);
                    if (with is not null)
                    {
                        RecordPositions(with, $"{path}.with");
                    }

                    break;
                case "temperature" or "seed" or "max_tokens" or "timeout_seconds":
                    settings.Add(property);
                    _map.Add($"{path}.with.{property.Key}", property.KeyPosition);
                    break;
                default:
                    ReportUnknownKey(property, VoterKeys, $"voter {index + 1}", taskId);
                    break;
            }
        }

        name ??= modelName is null ? $"voter-{index + 1}" : modelName;
        if (worker is not null)
        {
            writer.WriteStartObject();
            writer.WriteString("name", name);
            writer.WriteString("worker", worker);
            writer.WritePropertyName("with");
            if (with is null)
            {
                writer.WriteStartObject();
                writer.WriteEndObject();
            }
            else
            {
                with.WriteTo(writer);
            }

            writer.WriteEndObject();
            return;
        }

        var text = prompt ?? (approach is null ? description : $"{description}\n\n{approach}");
        WriteLlmCandidate(writer, name, modelName, text, with, settings);
    }

    private static void WriteLlmCandidate(Utf8JsonWriter writer, string name, string? model, string prompt, ObjectNode? with, List<PropertyNode> settings)
    {
        writer.WriteStartObject();
        writer.WriteString("name", name);
        writer.WriteString("worker", "llm");
        var timeout = settings.Find(s => s.Key == "timeout_seconds");
        if (timeout is not null)
        {
            writer.WritePropertyName("timeout_seconds");
            timeout.Value.WriteTo(writer);
        }

        writer.WriteStartObject("with");
        if (model is not null)
        {
            writer.WriteString("model", model);
        }

        writer.WriteString("prompt", prompt);
        foreach (var setting in settings.Where(s => s.Key != "timeout_seconds"))
        {
            writer.WritePropertyName(setting.Key);
            setting.Value.WriteTo(writer);
        }

        foreach (var property in with?.Properties ?? [])
        {
            writer.WritePropertyName(property.Key);
            property.Value.WriteTo(writer);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
