using System.Text.Json;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Workers;

namespace ParallelFlow.Engine.Requests;

/// <summary>
/// Requests in the shape parallel task executors take (<c>{ "task_id", "mode": "voting", "main_task", "voters",
/// "aggregation", "timeout_seconds" }</c>, and <c>"mode": "sectioning"</c> with components), bound as a plan of one
/// vote or section task so they run as they are. What a request leaves unsaid comes from <see cref="StageDefaults"/>.
/// Positions are kept: a problem with a voter points at that voter.
/// </summary>
internal sealed class RequestBinder : NodeBinder
{
    private static readonly string[] Modes = ["voting", "sectioning"];
    private static readonly string[] SectioningKeys = ["task_id", "mode", "description", "main_task", "parallelism_hint", "timeout_seconds", "worker", "with", "merger", "merging"];
    private static readonly string[] SectioningMainKeys = ["description", "components", "context"];
    private static readonly string[] VotingKeys = ["task_id", "mode", "description", "main_task", "voters", "aggregation", "timeout_seconds", "quorum"];
    private static readonly string[] MainTaskKeys = ["description", "evaluation_criteria", "context"];
    private static readonly string[] VoterKeys = ["voter_id", "id", "name", "model", "approach", "prompt", "worker", "with", "temperature", "seed", "max_tokens", "timeout_seconds"];

    private readonly StageDefaults _defaults;

    // A request is bound into a plan of another shape: its binder records the paths its errors use as it goes.
    private RequestBinder(string source, StageDefaults defaults)
        : base(source) => _defaults = defaults;

    /// <summary>Whether a file holds a request rather than a plan: it says which <c>mode</c>.</summary>
    public static bool IsRequest(PlanNode root) => root is ObjectNode obj && obj.Find("mode") is not null;

    public static (PlanDefinition Plan, List<PlanError> Errors) Bind(PlanNode root, string source, StageDefaults defaults)
    {
        var binder = new RequestBinder(source, defaults);
        binder.ReportDuplicateKeys(root);
        var obj = (ObjectNode)root;
        return (binder.BindRequest(obj, source, obj.Find("mode")!), binder._errors);
    }

    private PlanDefinition BindRequest(ObjectNode obj, string source, PropertyNode modeProperty)
    {
        var mode = Enum(modeProperty.Value, "mode", Modes, null);
        _map.Add(string.Empty, obj.Position);
        var id = obj.Find("task_id") is { } idNode ? String(idNode.Value, "task_id", null) : null;
        var taskId = id ?? Path.GetFileNameWithoutExtension(source);
        return mode switch
        {
            "sectioning" => BindSectioning(obj, source, taskId),
            "voting" => BindVoting(obj, source, taskId),
            _ => Request(taskId, source, [], string.Empty, PlanMode.Voting),
        };
    }

    private PlanDefinition BindVoting(ObjectNode obj, string source, string taskId)
    {
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
                    aggregation = Enum(property.Value, "aggregation", [.. _defaults.Scorers.Keys], taskId) ?? aggregation;
                    break;
                case "timeout_seconds":
                    timeout = Number(property.Value, "timeout_seconds", taskId);
                    _map.Add("tasks[0].timeout_seconds", property.KeyPosition);
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

        var candidates = new List<CandidateParameters>();
        for (var i = 0; voters is not null && i < voters.Items.Count; i++)
        {
            if (Voter(voters.Items[i], i, description, taskId) is { } candidate)
            {
                candidates.Add(candidate);
            }
        }

        var parameters = new VoteParameters(
            _defaults.Scorers.TryGetValue(aggregation, out var scorer) ? scorer : aggregation,
            quorum,
            timeout,
            Scoring(aggregation, criteria, taskId),
            candidates);
        return OneTask(obj, source, taskId, "vote", description, JsonSerializer.SerializeToElement(parameters, RequestJsonContext.Default.VoteParameters), timeout, PlanMode.Voting);
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

    /// <summary>The plan of one task a request becomes; the task and its parameters stand where the request does.</summary>
    private PlanDefinition OneTask(ObjectNode obj, string source, string taskId, string worker, string description, JsonElement with, double? timeout, PlanMode mode)
    {
        _map.Add("tasks[0]", obj.Position);
        _map.Add("tasks[0].with", obj.Position);
        var task = new TaskDefinition { Id = taskId, Worker = worker, Description = description, With = with, TimeoutSeconds = timeout };
        return Request(taskId, source, [task], description, mode);
    }

    private PlanDefinition Request(string id, string source, List<TaskDefinition> tasks, string description, PlanMode mode) => new()
    {
        Id = id,
        Description = description,
        Mode = mode,
        Tasks = tasks,
        SourceFile = source,
        SourceMap = _map,
    };

    /// <summary>
    /// A sectioning request: each component is a section run by the request's <c>worker</c> (by default
    /// <see cref="StageDefaults.SectionWorker"/>, asked for the description and the component), merged by its
    /// <c>merger</c> (by default <see cref="StageDefaults.SectionMerger"/>).
    /// </summary>
    private PlanDefinition BindSectioning(ObjectNode obj, string source, string taskId)
    {
        string description = string.Empty, worker = _defaults.SectionWorker, merger = _defaults.SectionMerger;
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
                    timeout = Number(property.Value, "timeout_seconds", taskId);
                    _map.Add("tasks[0].timeout_seconds", property.KeyPosition);
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

        var sections = new List<SectionItem>();
        for (var i = 0; components is not null && i < components.Items.Count; i++)
        {
            var item = components.Items[i];
            _map.Add($"tasks[0].with.sections[{i}]", item.Position);
            switch (item)
            {
                case ObjectNode component:
                    var name = component.Find("name") ?? component.Find("id") ?? component.Find("component_id");
                    sections.Add(new SectionItem(
                        name?.Value is ScalarNode { Kind: ScalarKind.String } n ? n.Text : $"component-{i + 1}",
                        component.Find("description")?.Value is ScalarNode { Kind: ScalarKind.String } d ? d.Text : Diagnostics.EngineJson.Compact(component.ToJsonElement())));
                    break;
                case ScalarNode scalar:
                    sections.Add(new SectionItem(scalar.Text, scalar.Text));
                    break;
                default:
                    WrongType(item, $"main_task.components[{i}]", "a string or an object", taskId);
                    sections.Add(new SectionItem(string.Empty, string.Empty));
                    break;
            }
        }

        if (with is not null)
        {
            RecordPositions(with, "tasks[0].with.with");
        }

        if (merging is not null)
        {
            RecordPositions(merging, "tasks[0].with.merging");
        }

        var parameters = new SectionParameters(
            sections,
            worker,
            with?.ToJsonElement() ?? DefaultSectionPrompt,
            parallelism,
            parallelism * 2,
            merger,
            merging?.ToJsonElement());
        return OneTask(obj, source, taskId, "section", description, JsonSerializer.SerializeToElement(parameters, RequestJsonContext.Default.SectionParameters), timeout, PlanMode.Sectioning);
    }

    /// <summary>What each section's worker is asked when the request gives no <c>with</c>.</summary>
    private static readonly JsonElement DefaultSectionPrompt = JsonDocument.Parse("""{ "prompt": "{{description}}\n\nPart: {{section}}" }""").RootElement;

    private ScoringParameters? Scoring(string aggregation, PlanNode? criteria, string taskId)
    {
        if (_defaults.GroupingAggregations.Contains(aggregation))
        {
            if (criteria is not null)
            {
                _errors.Add(new PlanError(PlanError.InvalidValueCode, $"aggregation '{aggregation}' groups agreeing answers and takes no evaluation_criteria; use weighted_score or pareto to weigh criteria", _map.Source, criteria.Position, taskId));
            }

            return null;
        }

        var combining = _defaults.CombiningAggregations.Contains(aggregation);
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

        List<JsonElement>? list = null;
        if (items.Count > 0 || !combining)
        {
            list = [];
            if (items.Count == 0)
            {
                // Without criteria, agreement with the other answers is the measure.
                list.Add(Criterion(_defaults.FallbackMetric, _defaults.FallbackMetric));
            }

            for (var i = 0; i < items.Count; i++)
            {
                var path = $"tasks[0].with.scoring.criteria[{i}]";
                _map.Add(path, items[i].Position);
                switch (items[i])
                {
                    case ScalarNode { Kind: ScalarKind.String } name:
                        list.Add(Criterion(name.Text, _defaults.CriterionMetrics.TryGetValue(name.Text, out var metric) ? metric : _defaults.FallbackMetric));
                        break;
                    case ObjectNode criterion:
                        RecordPositions(criterion, path);
                        list.Add(criterion.ToJsonElement());
                        break;
                    default:
                        WrongType(items[i], "main_task.evaluation_criteria", "criterion names or {name, weight, metric | command | judge} objects", taskId);
                        break;
                }
            }
        }

        return new ScoringParameters(combining ? _defaults.SynthesisMerger : null, list);
    }

    private static JsonElement Criterion(string name, string metric) =>
        JsonSerializer.SerializeToElement(new CriterionParameters(name, metric), RequestJsonContext.Default.CriterionParameters);

    private CandidateParameters? Voter(PlanNode node, int index, string description, string taskId)
    {
        var path = $"tasks[0].with.candidates[{index}]";
        _map.Add(path, node.Position);
        if (node is ScalarNode { Kind: ScalarKind.String } model)
        {
            return ModelCandidate(model.Text, model.Text, description, null, []);
        }

        if (ExpectObject(node, $"voters[{index}]", taskId) is not { } voter)
        {
            return null;
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

        name ??= modelName ?? $"voter-{index + 1}";
        if (worker is not null)
        {
            return new CandidateParameters(name, worker, null, Properties(with));
        }

        var text = prompt ?? (approach is null ? description : $"{description}\n\n{approach}");
        return ModelCandidate(name, modelName, text, with, settings);
    }

    /// <summary>A voter that is a model: the default model worker asked the request's prompt, with the voter's settings.</summary>
    private CandidateParameters ModelCandidate(string name, string? model, string prompt, ObjectNode? with, List<PropertyNode> settings)
    {
        var parameters = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (model is not null)
        {
            parameters["model"] = Diagnostics.EngineJson.Element(model);
        }

        parameters["prompt"] = Diagnostics.EngineJson.Element(prompt);
        foreach (var setting in settings.Where(s => s.Key != "timeout_seconds"))
        {
            parameters[setting.Key] = setting.Value.ToJsonElement();
        }

        foreach (var (key, value) in Properties(with))
        {
            parameters[key] = value;
        }

        var timeout = settings.Find(s => s.Key == "timeout_seconds");
        return new CandidateParameters(name, _defaults.ModelWorker, timeout?.Value.ToJsonElement(), parameters);
    }

    private static Dictionary<string, JsonElement> Properties(ObjectNode? obj)
    {
        var properties = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in obj?.Properties ?? [])
        {
            properties[property.Key] = property.Value.ToJsonElement();
        }

        return properties;
    }
}
