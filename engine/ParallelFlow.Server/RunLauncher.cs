using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Reporting;
using ParallelFlow.Hosting;
using ParallelFlow.Journal;

namespace ParallelFlow.Server;

/// <summary>What a client sends to start a run.</summary>
/// <param name="Plan">The name of a registered plan, or a plan itself (as a plan file has it, a request in the executors' format included).</param>
/// <param name="Inputs">The values of the plan's inputs.</param>
/// <param name="Strategy">The scheduling strategy, if not the plan's.</param>
/// <param name="Workers">The worker count, if not the plan's.</param>
internal sealed record SubmitRequest(JsonElement Plan, Dictionary<string, JsonElement>? Inputs, string? Strategy, int? Workers)
{
    /// <summary>A plan's text in YAML instead of <see cref="Plan"/>: the request's <c>plan_yaml</c>, or its body.</summary>
    public string? PlanYaml { get; init; }

    /// <summary>Whether the plan came as the request's body, its inputs in the query.</summary>
    [JsonIgnore]
    public bool YamlBody { get; init; }

    /// <summary>Inputs as <c>NAME=VALUE</c> texts, read by the types the plan declares (as <c>--input</c> is).</summary>
    [JsonIgnore]
    public IReadOnlyList<string> InputTexts { get; init; } = [];
}

/// <summary>Why a run was not started, cancelled or resumed: an HTTP status and a sentence for the client, and the
/// plan's errors when it has some.</summary>
internal sealed class RunRefusedException(int status, string detail, string? title = null, PlanValidationException? errors = null) : Exception(detail)
{
    public int Status { get; } = status;

    public string? Title { get; } = title;

    public PlanValidationException? Errors { get; } = errors;

    /// <summary>The plan's errors as the command line prints them, one per line, or the sentence.</summary>
    public string Text => Errors is null
        ? Message
        : string.Join("\n", Errors.Errors.Where(e => !e.IsWarning).Select(e => $"{e.Code}{(e.Position is { } p ? $" (line {p.Line}, column {p.Column})" : string.Empty)}{(e.TaskId is null ? string.Empty : $" [{e.TaskId}]")}: {e.Message}"));
}

/// <summary>Starts, cancels and resumes the service's runs, for the HTTP API and the MCP tools alike: the same
/// validation, allow-list, pool and journal for both.</summary>
internal sealed class RunLauncher(PlanRegistry plans, ParallelFlowRunner runner, ParallelFlowEngine engine, RunHub hub, RemotePlans remote)
{
    /// <summary>The runs this service started.</summary>
    public RunHub Hub => hub;

    /// <summary>The journal, if the service keeps one.</summary>
    public RunJournal? Journal => runner.Journal;

    /// <exception cref="RunRefusedException">The plan, its inputs or the settings are wrong, or the queue is full.</exception>
    public HubRun Submit(SubmitRequest? request)
    {
        // A plan sent with the request is kept as a file for the journal; refused, it is not kept.
        string? sent = null;
        try
        {
            return Submit(request, ref sent);
        }
        catch (Exception) when (sent is not null)
        {
            try
            {
                File.Delete(sent);
            }
            catch (IOException)
            {
                // Left behind: a file in the service's own folder, harmless.
            }

            throw;
        }
    }

    private HubRun Submit(SubmitRequest? request, ref string? sent)
    {
        CompiledPlan plan;
        string name;
        if (request?.PlanYaml is not null && request.Plan.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
        {
            throw new RunRefusedException(400, "the request has both plan and plan_yaml: send one");
        }

        if (request?.PlanYaml is not null || request?.Plan.ValueKind == JsonValueKind.Object)
        {
            // A plan sent with the request: held to the allow-list, validated like a file, kept as one.
            try
            {
                var key = Guid.NewGuid().ToString("N");
                sent = remote.PathOf(key, request.PlanYaml is not null);
                var definition = remote.Load(request.PlanYaml ?? request.Plan.GetRawText(), key, yaml: request.PlanYaml is not null);
                plan = remote.Engine.Compile(definition);
                name = definition.Id;
            }
            catch (PlanValidationException ex)
            {
                throw new RunRefusedException(400, ex.Message, "the plan has errors", ex);
            }
        }
        else if (request?.Plan.ValueKind == JsonValueKind.String && request.Plan.GetString() is { Length: > 0 } registered)
        {
            if (!plans.TryGet(registered, out plan))
            {
                var close = DisplayText.Suggest(registered, plans.Names);
                throw new RunRefusedException(404, $"no plan '{registered}'{(close is null ? string.Empty : $" (did you mean '{close}'?)")}; the service's plans: {Listed(plans.Names)}");
            }

            name = plan.Definition.Id;
        }
        else
        {
            throw new RunRefusedException(400, $"the request names no plan: send {{\"plan\": NAME, \"inputs\": {{…}}}} with NAME one of {Listed(plans.Names)}, or {{\"plan\": {{ the plan }}}}, or the plan as YAML");
        }

        if (request.Workers is < 1)
        {
            throw new RunRefusedException(400, $"workers: {request.Workers} is not a worker count; give 1 or more, or leave it out");
        }

        if (request.Strategy is { } strategy && engine.Catalog.StrategyProblem(strategy) is { } problem)
        {
            throw new RunRefusedException(400, $"strategy: {problem}");
        }

        var inputs = request.Inputs;
        if (request.InputTexts.Count > 0)
        {
            inputs = new Dictionary<string, JsonElement>(inputs ?? [], StringComparer.Ordinal);
            foreach (var text in request.InputTexts)
            {
                if (text.IndexOf('=', StringComparison.Ordinal) is not (var at and > 0))
                {
                    throw new RunRefusedException(400, $"input '{text}': write NAME=VALUE, as ?input={(text.Length == 0 ? "NAME" : text)}=VALUE");
                }

                var (key, value) = (text[..at], text[(at + 1)..]);
                if (!plan.Definition.Inputs.TryGetValue(key, out var input))
                {
                    var close = DisplayText.Suggest(key, plan.Definition.Inputs.Keys);
                    throw new RunRefusedException(400, $"input '{key}': the plan has no such input{(close is null ? string.Empty : $" (did you mean '{close}'?)")}; it takes {Listed(plan.Definition.Inputs.Keys)}");
                }

                var (parsed, wrong) = PlanInputs.Parse(value, input.Type);
                inputs[key] = parsed ?? throw new RunRefusedException(400, $"input '{key}': {wrong}");
            }
        }

        // A required input left out, said in the terms of a request (the engine's own sentence names --input).
        var missing = plan.Definition.Inputs.Values.Where(i => i.IsRequired && inputs?.ContainsKey(i.Name) != true).ToList();
        if (missing.Count > 0)
        {
            var how = !request.YamlBody ? "in the request's \"inputs\": {{\"{0}\": …}}" : "as ?input={0}=VALUE (or in ?inputs={{…}})";
            throw new RunRefusedException(400, "the inputs do not fit the plan", "the inputs do not fit the plan", new PlanValidationException([.. missing.Select(i => new PlanError(
                "PF0014",
                $"input '{i.Name}' is required ({i.Type.ToString().ToLowerInvariant()}{(i.Description.Length == 0 ? string.Empty : $": {i.Description}")}); give it {string.Format(CultureInfo.InvariantCulture, how, i.Name)}",
                plan.Definition.Id, null, null))]));
        }

        FlowRun flow;
        try
        {
            flow = runner.Start(plan, new RunOptions { Inputs = inputs, Strategy = request.Strategy, Workers = request.Workers, StreamEvents = true }, CancellationToken.None);
        }
        catch (PlanValidationException ex)
        {
            throw new RunRefusedException(400, ex.Message, "the inputs do not fit the plan", ex);
        }
        catch (ParallelFlowPoolFullException ex)
        {
            throw new RunRefusedException(429, ex.Message);
        }

        return hub.Add(flow, name, plan);
    }

    /// <exception cref="RunRefusedException">No such run, or it has ended.</exception>
    public HubRun Cancel(string runId)
    {
        switch (hub.Find(runId))
        {
            case null:
                throw new RunRefusedException(404, $"this service is not running a run '{runId}'");
            case { Flow.Completion.IsCompleted: true }:
                throw new RunRefusedException(409, $"run {runId} has ended already");
            case var run:
                run.Flow.Cancel();
                return run;
        }
    }

    /// <summary>Continues a run the journal holds that did not finish (the service was stopped or killed, or it failed):
    /// the tasks that succeeded keep their outputs and do not run again, with the inputs it had.</summary>
    /// <exception cref="RunRefusedException">The run cannot be resumed, and why.</exception>
    public (HubRun Run, int Restored, PlanEdit Edit) Resume(string runId)
    {
        if (hub.Find(runId) is { } here)
        {
            if (!here.Flow.Completion.IsCompleted)
            {
                throw new RunRefusedException(409, $"run {runId} is running here now");
            }

            // Ended here a moment ago: its end is being written to the journal, which the resume reads.
            if (!runner.WhenRecorded(here.Flow).Wait(TimeSpan.FromSeconds(30)))
            {
                throw new RunRefusedException(409, $"run {runId} ended here, but its end is not in the journal yet; try again in a moment");
            }
        }

        if (Journal is not { } journal)
        {
            throw new RunRefusedException(409, "this service keeps no journal (serve --journal), so it has nothing to resume a run from");
        }

        if (journal.Run(runId) is not { } run)
        {
            throw new RunRefusedException(404, $"the journal has no run '{runId}'");
        }

        if (run.Status == "running")
        {
            throw new RunRefusedException(409, $"run {runId} is still running in another process");
        }

        if (!File.Exists(run.PlanPath))
        {
            throw new RunRefusedException(409, $"the plan of run {runId} is gone ({run.PlanPath}), so it is not resumed");
        }

        var edited = RunJournal.HashPlan(run.PlanPath, run.ConfigPath) != run.PlanHash;
        if (run.Status == "succeeded" && !edited)
        {
            throw new RunRefusedException(409, $"run {runId} succeeded already, and its plan is as it was; there is nothing to resume");
        }

        var recorded = journal.Fingerprints(runId);
        if (edited && recorded is null)
        {
            throw new RunRefusedException(409, $"the plan of run {runId} changed since it started, and the run was recorded by an earlier version that kept no task fingerprints, so which outputs still fit cannot be told; it is not resumed");
        }

        // A plan that came over HTTP resumes under the allow-list it ran under.
        var compiler = CompilerOf(run);
        CompiledPlan plan;
        try
        {
            var definition = compiler.LoadPlan(run.PlanPath, run.ConfigPath);
            plan = compiler.Compile(run.Only.Count > 0 ? definition.Only(run.Only) : definition);
        }
        catch (PlanValidationException ex)
        {
            throw new RunRefusedException(400, ex.Message, "the run's plan has errors now (a plugin it used is not loaded?)", ex);
        }
        catch (KeyNotFoundException ex)
        {
            throw new RunRefusedException(409, $"run {runId} ran only {string.Join(", ", run.Only)}, and after the edit {ex.Message}; start a new run of the plan");
        }

        // After an edit: the tasks whose definition changed, and what depends on them, run again; their records go first.
        var fingerprints = PlanEdits.Fingerprints(plan);
        var edit = PlanEdits.Compare(recorded ?? fingerprints, plan.Definition, fingerprints);
        if (edit.IsEmpty && run.Status == "succeeded")
        {
            // The file changed, but no task's definition did: the run stands, recorded against the plan as it is now.
            journal.Refingerprint(runId, RunJournal.HashPlan(run.PlanPath, run.ConfigPath), fingerprints);
            throw new RunRefusedException(409, $"run {runId} succeeded already; its plan changed, but no task's definition did, so there is nothing to resume");
        }

        if (!edit.IsEmpty)
        {
            // Before the run is recorded again with the new fingerprints, so that a stop in between runs them again.
            journal.Forget(runId, [.. edit.Rerun, .. edit.Removed]);
        }

        var restored = journal.Succeeded(runId).Where(t => !edit.Rerun.Contains(t.Key)).ToDictionary(StringComparer.Ordinal);
        FlowRun flow;
        try
        {
            flow = runner.Start(plan, new RunOptions { RunId = runId, Restored = restored, Inputs = run.Inputs, Workers = run.Workers, StreamEvents = true }, CancellationToken.None);
        }
        catch (ParallelFlowPoolFullException ex)
        {
            throw new RunRefusedException(429, ex.Message);
        }

        // Its events start again from 1: a stream of the run before the resume is over.
        return (hub.Add(flow, plan.Definition.Id, plan), restored.Count, edit);
    }

    /// <summary>The runs of the journal and of this service (a run here is as this service has it), newest first.</summary>
    public List<RunRow> Runs()
    {
        var rows = new Dictionary<string, RunRow>(StringComparer.Ordinal);
        foreach (var run in Journal?.Runs() ?? [])
        {
            rows[run.RunId] = new RunRow(run.RunId, run.PlanId, run.Status, run.StartedAt, run.FinishedAt, run.Counts);
        }

        foreach (var run in hub.Runs)
        {
            var done = run.Flow.Completion.IsCompletedSuccessfully ? run.Flow.Completion.Result : null;
            rows[run.Flow.RunId] = new RunRow(run.Flow.RunId, run.Plan, run.Status, run.Submitted, done is null ? null : done.StartedAt + done.Elapsed,
                done?.Tasks.GroupBy(t => t.Status.ToName()).ToDictionary(g => g.Key, g => g.Count()) ?? new Dictionary<string, int>());
        }

        return [.. rows.Values.OrderByDescending(r => r.StartedAt).ThenByDescending(r => r.RunId, StringComparer.Ordinal)];
    }

    /// <summary>A run's report: the whole one for a run that ended (here or in the journal), else the run that is going;
    /// null for a run neither has.</summary>
    public (JsonDocument? Report, HubRun? Going)? Find(string runId) => hub.Find(runId) switch
    {
        { Flow.Completion.IsCompletedSuccessfully: true } done => (RunReport.ToDocument(done.Flow.Completion.Result), null),
        { } going => (null, going),
        null => Journal?.Report(runId) is { } recorded ? (recorded.Report, null) : null,
    };

    /// <summary>A task of a run: from the run's result when it ended here, else from the journal, else from the events of
    /// the run that is going (with its latest output line); null when none of them has it.</summary>
    public TaskBody? Task(string runId, string taskId)
    {
        if (hub.Find(runId) is { Flow.Completion.IsCompletedSuccessfully: true } done)
        {
            return done.Flow.Completion.Result.Tasks.FirstOrDefault(t => t.TaskId == taskId) is { } result
                ? new TaskBody(taskId, result.Status.ToName(), result.Attempts, result.Duration.TotalSeconds, result.Output, result.Result?.Json, result.Error)
                : null;
        }

        if (Journal?.Tasks(runId).FirstOrDefault(t => t.TaskId == taskId) is { } recorded)
        {
            return new TaskBody(taskId, recorded.Status, recorded.Attempts, recorded.DurationSeconds, recorded.Result?.Text, recorded.Result?.Json, recorded.Error);
        }

        return hub.Find(runId)?.Task(taskId) is { } going ? new TaskBody(taskId, going.Status, going.Attempts, 0, going.Line, null, null) : null;
    }

    /// <summary>The engine a recorded run's plan is read with: the restricted one for a plan that came over HTTP.</summary>
    public ParallelFlowEngine CompilerOf(RunRecord run) =>
        Path.GetFullPath(run.PlanPath).StartsWith(Path.GetFullPath(remote.Folder) + Path.DirectorySeparatorChar, StringComparison.Ordinal) ? remote.Engine : engine;

    private static string Listed(IEnumerable<string> names) => names.Any() ? string.Join(", ", names) : "none (serve --plans DIR)";
}

/// <summary>A run as the service lists it.</summary>
internal sealed record RunRow(string RunId, string Plan, string Status, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, IReadOnlyDictionary<string, int> Counts);

/// <summary>A task as the service gives it, from a run here or from the journal.</summary>
internal sealed record TaskBody(string Id, string Status, int Attempts, double Duration, string? Output, JsonElement? OutputJson, string? Error);
