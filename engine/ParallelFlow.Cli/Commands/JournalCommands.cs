using System.CommandLine;
using System.Globalization;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Journal;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>parallelflow runs</c>, <c>show RUN</c> and <c>resume RUN</c>: reading the run journal, and continuing a run from it.</summary>
internal static class JournalCommands
{
    private const string JournalHelp = "The run journal (default: .parallelflow/journal.db here; a folder means its .parallelflow/journal.db).";

    public static Command Runs(CliConsole console)
    {
        var journal = JournalSetup.Option(JournalHelp);
        var command = new Command("runs", "Lists the runs of a journal, newest first.") { journal };
        command.SetAction(parseResult =>
        {
            using var opened = JournalSetup.OpenExisting(parseResult.GetValue(journal), console);
            if (opened is null)
            {
                return ExitCodes.InvalidInput;
            }

            var runs = opened.Runs();
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
        var command = new Command("show", "Shows one run of a journal, task by task.") { id, journal };
        command.SetAction(parseResult =>
        {
            using var opened = JournalSetup.OpenExisting(parseResult.GetValue(journal), console);
            if (opened is null || Find(opened, parseResult.GetRequiredValue(id), console) is not { } run)
            {
                return ExitCodes.InvalidInput;
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
        var report = new Option<string?>("--report", "-r") { Description = "Write the resumed run's report to this file." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print only the summary, not each event." };
        var grace = PluginSetup.GracePeriodOption();
        var command = new Command("resume", "Continues a run that was interrupted or failed: tasks that succeeded keep their recorded outputs and are not run again.") { id, journal, report, quiet, grace };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var opened = JournalSetup.OpenExisting(parseResult.GetValue(journal), console);
            if (opened is null || Find(opened, parseResult.GetRequiredValue(id), console) is not { } run)
            {
                return ExitCodes.InvalidInput;
            }

            switch (run.Status)
            {
                case "succeeded":
                    await console.Out.WriteLineAsync($"run {run.RunId} succeeded already; there is nothing to resume").ConfigureAwait(false);
                    return ExitCodes.Success;
                case "running":
                    await console.Error.WriteLineAsync($"error: run {run.RunId} is still running in another process; resume it once that process has ended").ConfigureAwait(false);
                    return ExitCodes.InvalidInput;
            }

            if (!File.Exists(run.PlanPath) || (run.ConfigPath is not null && !File.Exists(run.ConfigPath)))
            {
                await console.Error.WriteLineAsync($"error: {run.PlanPath}: the plan (or its config) of run {run.RunId} is gone; nothing was run").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            if (RunJournal.HashPlan(run.PlanPath, run.ConfigPath) != run.PlanHash)
            {
                await console.Error.WriteLineAsync(
                    $"error: {run.PlanPath}: the plan changed since run {run.RunId} started, so its recorded outputs may not fit it; resume refuses to mix two plans. Start a new run with: parallelflow run {run.PlanPath}").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            var (engine, _) = PluginSetup.CreateEngine(run.PluginsPath, console, parseResult.GetValue(grace));
            var plan = PlanSource.LoadFrom(engine, run.PlanPath, run.ConfigPath, run.Workers, console);
            if (plan is null)
            {
                return ExitCodes.InvalidInput;
            }

            var restored = opened.Succeeded(run.RunId);
            await console.Out.WriteLineAsync($"resuming run {run.RunId}: {restored.Count} of {plan.Tasks.Count} tasks keep their recorded outputs; the others run").ConfigureAwait(false);
            try
            {
                opened.BeginRun(run.RunId, plan.Id, run.PlanPath, run.PlanHash, run.ConfigPath, run.PluginsPath, run.Workers, run.StartedAt, run.Inputs);
            }
            catch (JournalException ex)
            {
                await console.Error.WriteLineAsync($"error: {ex.Message}; nothing was run.").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            var options = new RunOptions { Workers = run.Workers, StreamEvents = true, Journal = opened, RunId = run.RunId, Restored = restored, Cache = opened, Inputs = run.Inputs };
            return await RunCommand.ExecuteAsync(engine, plan, options, parseResult.GetValue(report), parseResult.GetValue(quiet), opened, console, cancellationToken).ConfigureAwait(false);
        });
        return command;
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

            foreach (var line in opened.ExplainCache(parseResult.GetRequiredValue(run), parseResult.GetRequiredValue(task)))
            {
                console.Out.WriteLine(line);
            }

            return ExitCodes.Success;
        });
        return new Command("cache", "The result cache kept in the run journal.") { why };
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
