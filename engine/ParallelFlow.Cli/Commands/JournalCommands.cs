using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ParallelFlow.Engine.Diagnostics;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Journal;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>parallelflow runs</c>, <c>show RUN</c> and <c>resume RUN</c>: reading the run journal, and continuing a run from it.</summary>
internal static class JournalCommands
{
    private static readonly System.Text.Json.JsonSerializerOptions Indented = new() { WriteIndented = true };

    private const string JournalHelp = "The run journal: a SQLite file (a folder means its .parallelflow/journal.db) or a PostgreSQL database (Host=…;Database=…, the password in PGPASSWORD). Default: $PARALLELFLOW_JOURNAL, else .parallelflow/journal.db here or in $PARALLELFLOW_HOME.";

    public static Command Runs(CliConsole console)
    {
        var journal = JournalSetup.Option(JournalHelp);
        var json = new Option<bool>("--json") { Description = "Print the runs as a JSON array, for scripts." };
        var command = new Command("runs", "Lists the runs of a journal, newest first.") { journal, json };
        command.SetAction(parseResult =>
        {
            using var opened = JournalSetup.OpenExisting(parseResult.GetValue(journal), console);
            if (opened is null)
            {
                return ExitCodes.InvalidInput;
            }

            var runs = opened.Runs();
            if (parseResult.GetValue(json))
            {
                console.Out.WriteLine(JsonSerializer.Serialize(runs.Select(run => new
                {
                    run_id = run.RunId,
                    plan_id = run.PlanId,
                    plan_path = run.PlanPath,
                    status = run.Status,
                    started_at = run.StartedAt,
                    finished_at = run.FinishedAt,
                    resumes = run.Resumes,
                    counts = run.Counts,
                })));
                return ExitCodes.Success;
            }

            if (runs.Count == 0)
            {
                console.Out.WriteLine($"{opened.Path}: no runs yet");
                return ExitCodes.Success;
            }

            var c = CultureInfo.InvariantCulture;
            console.Out.WriteLine($"{"RUN",-23}  {"PLAN",-20}  {"STARTED (UTC)",-19}  {"STATUS",-11}  TASKS");
            foreach (var run in runs)
            {
                console.Out.WriteLine(string.Create(c, $"{run.RunId,-23}  {Cut(run.PlanId, 20),-20}  {run.StartedAt.UtcDateTime,-19:yyyy-MM-dd HH:mm:ss}  {run.Status,-11}  {Counts(run)}{(run.Resumes > 0 ? $" (resumed {run.Resumes}x)" : string.Empty)}"));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Show(CliConsole console)
    {
        var journal = JournalSetup.Option(JournalHelp);
        var id = new Argument<string>("run") { Description = "The run's id (see parallelflow runs)." };
        var taskId = new Argument<string?>("task") { Description = "A task of the run: print its whole output and error.", Arity = ArgumentArity.ZeroOrOne };
        var outputs = new RunOutputs(report: true);
        var command = new Command("show", "Shows one run of a journal, task by task; or one task's whole output and error; or writes the run's report, HTML page or trace.") { id, taskId, journal };
        outputs.AddTo(command);
        command.SetAction(parseResult =>
        {
            using var opened = JournalSetup.OpenExisting(parseResult.GetValue(journal), console);
            if (opened is null || Find(opened, parseResult.GetRequiredValue(id), console) is not { } run)
            {
                return ExitCodes.InvalidInput;
            }

            if (parseResult.GetValue(taskId) is { } only)
            {
                if (outputs.Any(parseResult))
                {
                    console.Error.WriteLine("error: show RUN TASK prints one task; --html, --trace and --report write the whole run: give one or the other");
                    return ExitCodes.InvalidInput;
                }

                return ShowTask(opened, run, only, console);
            }

            using (var files = outputs.Open(parseResult, console))
            {
                if (files is null)
                {
                    return ExitCodes.InvalidInput;
                }

                if (files.Any)
                {
                    var (report, complete) = opened.Report(run.RunId)!.Value;
                    using (report)
                    {
                        if (!complete)
                        {
                            console.Error.WriteLine($"note: run {run.RunId} did not finish ({run.Status}), so it has no report of its own: what is written holds what the journal recorded — each task's attempts, times, output and error — without the plan's dependencies");
                        }

                        files.Write(report.RootElement, console, quiet: false);
                    }

                    return ExitCodes.Success;
                }
            }

            var c = CultureInfo.InvariantCulture;
            console.Out.WriteLine($"Run {run.RunId} of {run.PlanId} ({run.PlanPath}): {run.Status}");
            console.Out.WriteLine(string.Create(c, $"started {run.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC{(run.FinishedAt is { } f ? string.Create(c, $", finished {f.UtcDateTime:HH:mm:ss}") : string.Empty)}; {Counts(run)}{(run.Resumes > 0 ? $"; resumed {run.Resumes}x" : string.Empty)}"));
            var tasks = opened.Tasks(run.RunId);
            var width = tasks.Count == 0 ? 4 : Math.Min(40, tasks.Max(t => t.TaskId.Length));
            foreach (var task in tasks)
            {
                var detail = task.Error ?? task.Result?.ToString() ?? string.Empty;
                console.Out.WriteLine(string.Create(c, $"  {task.TaskId.PadRight(width)}  {task.Status,-10} {task.Attempts,2} attempt{(task.Attempts == 1 ? " " : "s")} {task.DurationSeconds,8:0.000}s  {Cut(detail.ReplaceLineEndings(" "), 70)}"));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Resume(CliConsole console)
    {
        var journal = JournalSetup.Option(JournalHelp);
        var id = new Argument<string>("run") { Description = "The run to continue (see parallelflow runs)." };
        var outputs = new RunOutputs(report: true);
        var telemetry = new TelemetryOptions();
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print only the summary, not each event." };
        var grace = PluginSetup.GracePeriodOption();
        var plugins = PluginSetup.Option();
        plugins.Description = "The plugin list to load (default: the one the run used).";
        var planFile = new Option<string?>("--plan") { Description = "The plan file, when it is not where the run found it (resuming on another machine that shares the journal); a plan that differs is compared task by task as after an edit. Its config is looked for beside it." };
        var noHistory = JournalSetup.NoHistoryOption();
        var from = new Option<string[]>("--from") { Description = "Runs these tasks again, and every task that depends on them, even when they succeeded and did not change, without the result cache (repeat it, or separate ids with commas).", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true };
        var command = new Command("resume", "Continues a run that was interrupted or failed: tasks that succeeded keep their recorded outputs and are not run again. After an edit to the plan, the tasks whose definition changed run again with everything that depends on them.") { id, journal, planFile, from, noHistory, quiet, grace, plugins, ClusterCommands.ClusterOption() };
        outputs.AddTo(command);
        telemetry.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            _ = Engine.EngineWarmUp.Start();
            using var opened = JournalSetup.OpenExisting(parseResult.GetValue(journal), console);
            if (opened is null || Find(opened, parseResult.GetRequiredValue(id), console) is not { } run)
            {
                return ExitCodes.InvalidInput;
            }

            if (run.Status == "running")
            {
                await console.Error.WriteLineAsync($"error: run {run.RunId} is still running in another process; resume it once that process has ended").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            if (parseResult.GetValue(planFile) is { } moved)
            {
                // The same plan elsewhere: another machine's checkout. Its config has the same name beside it.
                var planPath = Path.GetFullPath(moved);
                run = run with
                {
                    PlanPath = planPath,
                    ConfigPath = run.ConfigPath is null ? null : Path.Combine(Path.GetDirectoryName(planPath)!, Path.GetFileName(run.ConfigPath)),
                };
            }

            if (!File.Exists(run.PlanPath) || (run.ConfigPath is not null && !File.Exists(run.ConfigPath)))
            {
                await console.Error.WriteLineAsync($"error: {(File.Exists(run.PlanPath) ? run.ConfigPath : run.PlanPath)}: the plan (or its config) of run {run.RunId} is not there; nothing was run. On another machine, pass --plan with where the plan is here").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            var forced = (parseResult.GetValue(from) ?? []).SelectMany(f => f.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct(StringComparer.Ordinal).ToList();
            var hash = RunJournal.HashPlan(run.PlanPath, run.ConfigPath);
            var edited = hash != run.PlanHash;
            if (run.Status == "succeeded" && !edited && forced.Count == 0)
            {
                await console.Out.WriteLineAsync($"run {run.RunId} succeeded already, and its plan is as it was; there is nothing to resume (--from TASK runs a task again with what depends on it)").ConfigureAwait(false);
                return ExitCodes.Success;
            }

            var recorded = opened.Fingerprints(run.RunId);
            if (edited && recorded is null)
            {
                await console.Error.WriteLineAsync(
                    $"error: {run.PlanPath}: the plan changed since run {run.RunId} started, and the run was recorded by an earlier version that kept no task fingerprints, so which outputs still fit cannot be told. Start a new run with: {ShellQuote.Join("parallelflow", "run", run.PlanPath)}").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            var (engine, report, pluginsUsed) = PluginSetup.CreateEngine(parseResult.GetValue(plugins) ?? run.PluginsPath, console, parseResult.GetValue(grace), planPath: run.PlanPath);
            if (PluginSetup.Refused(parseResult.GetValue(plugins), report?.Errors, console))
            {
                return ExitCodes.InvalidInput;
            }

            var plan = PlanSource.LoadFrom(engine, run.PlanPath, run.ConfigPath, run.Workers, console, pluginsUsed: pluginsUsed);
            if (plan is null)
            {
                return ExitCodes.InvalidInput;
            }

            if (run.Only.Count > 0)
            {
                // A run of some tasks (run --only) resumes as those tasks, not as the whole plan.
                try
                {
                    plan = plan.Only(run.Only);
                }
                catch (KeyNotFoundException ex)
                {
                    await console.Error.WriteLineAsync($"{run.PlanPath}: error: run {run.RunId} ran only {string.Join(", ", run.Only)}, and after the edit {ex.Message}; nothing was run. Start a new run with: {ShellQuote.Join("parallelflow", "run", run.PlanPath)}").ConfigureAwait(false);
                    return ExitCodes.InvalidInput;
                }
            }

            // Opened before the journal is touched: a file that cannot be written leaves the run as it was.
            using var files = outputs.Open(parseResult, console);
            if (files is null)
            {
                return ExitCodes.InvalidInput;
            }

            var fingerprints = PlanEdits.Fingerprints(plan, engine.Catalog);
            PlanEdit edit;
            try
            {
                edit = PlanEdits.Compare(recorded ?? fingerprints, plan, fingerprints, forced);
            }
            catch (KeyNotFoundException ex)
            {
                await console.Error.WriteLineAsync($"{run.PlanPath}: error: --from: {ex.Message}; nothing was run.").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            if (run.Status == "succeeded" && edit.IsEmpty && forced.Count == 0)
            {
                // The file changed, but no task's definition did (spacing, a priority, an estimate): the run stands as
                // it is, recorded against the plan as it is now.
                opened.Refingerprint(run.RunId, hash, fingerprints);
                await console.Out.WriteLineAsync($"run {run.RunId} succeeded already; {Path.GetFileName(run.PlanPath)} changed, but no task's definition did, so there is nothing to resume").ConfigureAwait(false);
                return ExitCodes.Success;
            }

            var restored = opened.Succeeded(run.RunId).Where(t => !edit.Rerun.Contains(t.Key)).ToDictionary(StringComparer.Ordinal);
            var kept = plan.Tasks.Count(t => restored.ContainsKey(t.Id));
            await console.Out.WriteLineAsync($"resuming run {run.RunId}{(edited ? $" after an edit to {Path.GetFileName(run.PlanPath)}" : string.Empty)}: {kept} of {plan.Tasks.Count} tasks keep their recorded outputs; the others run").ConfigureAwait(false);
            await WriteEditAsync(edit, console).ConfigureAwait(false);
            try
            {
                opened.BeginRun(run.RunId, plan.Id, run.PlanPath, hash, run.ConfigPath, pluginsUsed is { } p ? Path.GetFullPath(p) : null, run.Workers, run.StartedAt, run.Inputs, only: run.Only,
                    fingerprints: fingerprints, forget: [.. edit.Rerun, .. edit.Removed]);
            }
            catch (JournalException ex)
            {
                await console.Error.WriteLineAsync($"error: {ex.Message}; nothing was run.").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            plan = JournalSetup.Learn(opened, plan, parseResult.GetValue(noHistory), parseResult.GetValue(quiet), console, exceptRun: run.RunId);
            // --from runs its tasks again, not their cached results.
            var options = new RunOptions { Workers = run.Workers, StreamEvents = true, Journal = opened, RunId = run.RunId, Restored = restored, Cache = forced.Count > 0 ? null : opened, Inputs = run.Inputs };
            return await RunCommand.ExecuteAsync(engine, plan, options, files, telemetry, parseResult, opened, console, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Says which tasks run again after an edit and why, and which recorded ones are gone.</summary>
    private static async Task WriteEditAsync(PlanEdit edit, CliConsole console)
    {
        if (edit.IsEmpty)
        {
            return;
        }

        var own = edit.Edits.Count(e => !e.Inherited);
        await console.Out.WriteLineAsync($"{own} task{(own == 1 ? string.Empty : "s")} changed or asked for, {edit.Edits.Count - own} more run again because they depend on one{(edit.Removed.Count > 0 ? $", {edit.Removed.Count} recorded task{(edit.Removed.Count == 1 ? " is" : "s are")} no longer in the plan" : string.Empty)}:").ConfigureAwait(false);
        foreach (var task in edit.Edits)
        {
            await console.Out.WriteLineAsync($"  {task.TaskId}: {string.Join("; ", task.Reasons)}").ConfigureAwait(false);
        }

        foreach (var id in edit.Removed)
        {
            await console.Out.WriteLineAsync($"  {id}: no longer in the plan; its record is dropped").ConfigureAwait(false);
        }
    }

    public static Command Cache(CliConsole console)
    {
        var journal = JournalSetup.Option(JournalHelp);
        var run = new Argument<string>("run") { Description = "The run (see parallelflow runs)." };
        var task = new Argument<string>("task") { Description = "The task's id." };
        var why = new Command("why", "Explains why a task of a run used the cache or missed it, against the closest earlier entry.") { run, task, journal };
        why.SetAction(parseResult =>
        {
            using var opened = JournalSetup.OpenExisting(parseResult.GetValue(journal), console);
            if (opened is null || Find(opened, parseResult.GetRequiredValue(run), console) is null)
            {
                return ExitCodes.InvalidInput;
            }

            var runId = parseResult.GetRequiredValue(run);
            var taskId = parseResult.GetRequiredValue(task);
            if (opened.ExplainCache(runId, taskId) is not { } lines)
            {
                var close = Engine.Plans.DisplayText.Suggest(taskId, opened.Tasks(runId).Select(t => t.TaskId));
                console.Error.WriteLine($"error: run {runId} recorded no task '{taskId}'{(close is null ? string.Empty : $"; did you mean '{close}'?")}");
                return ExitCodes.InvalidInput;
            }

            foreach (var line in lines)
            {
                console.Out.WriteLine(line);
            }

            return ExitCodes.Success;
        });
        return new Command("cache", "The result cache kept in the run journal.") { why };
    }

    /// <summary>One task of a run: its status, attempts and time, then its whole output and error.</summary>
    private static int ShowTask(RunJournal journal, RunRecord run, string taskId, CliConsole console)
    {
        var tasks = journal.Tasks(run.RunId);
        var task = tasks.FirstOrDefault(t => t.TaskId == taskId);
        if (task is null)
        {
            var close = Engine.Plans.DisplayText.Suggest(taskId, tasks.Select(t => t.TaskId));
            console.Error.WriteLine($"error: run {run.RunId} recorded no task '{taskId}'{(close is null ? string.Empty : $"; did you mean '{close}'?")} (a task that never started is not recorded until the run ends)");
            return ExitCodes.InvalidInput;
        }

        var c = CultureInfo.InvariantCulture;
        console.Out.WriteLine(string.Create(c, $"{task.TaskId} in run {run.RunId}: {task.Status}, {task.Attempts} attempt{(task.Attempts == 1 ? string.Empty : "s")}, {task.DurationSeconds:0.000}s"));
        if (task.Result is { } result)
        {
            console.Out.WriteLine("output:");
            console.Out.WriteLine(result.Json is { } json && result.Text is null
                ? System.Text.Json.JsonSerializer.Serialize(json, Indented)
                : result.Text ?? string.Empty);
            if (result.Usage.TotalTokens > 0)
            {
                console.Out.WriteLine(string.Create(c, $"usage: {result.Usage.InputTokens} input tokens, {result.Usage.OutputTokens} output tokens, cost {result.Usage.Cost}"));
            }
        }

        if (task.Error is not null)
        {
            console.Out.WriteLine("error:");
            console.Out.WriteLine(task.Error);
        }

        return ExitCodes.Success;
    }

    private static RunRecord? Find(RunJournal journal, string id, CliConsole console)
    {
        var run = journal.Run(id);
        if (run is null)
        {
            var known = journal.Runs().Select(r => r.RunId).Take(5).ToList();
            console.Error.WriteLine($"error: {journal.Path} has no run '{id}'{(known.Count > 0 ? $"; the latest are {string.Join(", ", known)}" : string.Empty)}");
        }

        return run;
    }

    private static string Counts(RunRecord run) =>
        run.Counts.Count == 0 ? "no task finished" : string.Join(", ", run.Counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Value} {c.Key}"));

    private static string Cut(string text, int width) => text.Length <= width ? text : text[..(width - 3)] + "...";
}
