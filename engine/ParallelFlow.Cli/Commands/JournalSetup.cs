using System.CommandLine;
using ParallelFlow.Engine.Diagnostics;
using ParallelFlow.Journal;

namespace ParallelFlow.Cli.Commands;

/// <summary>The <c>--journal</c> option, the default journal places, and what identifies a plan's content.</summary>
internal static class JournalSetup
{
    public static Option<string?> Option(string description) => new("--journal") { Description = description };

    /// <summary>The journal a command uses: the option's file (or a folder's <c>.parallelflow/journal.db</c>), else
    /// <c>$PARALLELFLOW_JOURNAL</c>, else the first that exists as <see cref="FileLookup"/> says (beside the plan, the
    /// current folder, <c>$PARALLELFLOW_HOME</c>); else a new one beside the plan (or here, for a command without one).</summary>
    public static string Resolve(string? given, string? planPath = null)
    {
        if (given is not null)
        {
            return Directory.Exists(given) ? Path.Combine(given, FileLookup.Journal) : given;
        }

        if (Environment.GetEnvironmentVariable(RunJournal.PathVariable) is { Length: > 0 } configured)
        {
            return configured;
        }

        return FileLookup.Find(FileLookup.Journal, planPath)
            ?? (planPath is null ? FileLookup.Journal : RunJournal.DefaultPathFor(planPath));
    }

    public static Option<bool> NoHistoryOption() => new("--no-history")
    {
        Description = "Plan with the estimates the plan gives, not the durations, tokens and cost earlier runs of it measured (the median of each task's last 5 executions in the journal).",
    };

    /// <summary>The plan with what earlier runs of it measured, unless <c>--no-history</c> or there is none; says how
    /// many tasks took a learned estimate on stderr (not when <paramref name="quiet"/>).</summary>
    public static Engine.Plans.PlanDefinition Learn(RunJournal? journal, Engine.Plans.PlanDefinition plan, bool off, bool quiet, CliConsole console, string? exceptRun = null)
    {
        if (journal is null || off)
        {
            return plan;
        }

        IReadOnlyDictionary<string, Engine.Plans.LearnedEstimate> history;
        try
        {
            history = journal.History(plan.Id, exceptRun);
        }
        catch (JournalException ex)
        {
            // Learned estimates are extra: the run goes on with the plan's own (a failing journal says so again when
            // the run records into it).
            console.Error.WriteLine($"note: no learned estimates: {ex.Message}");
            return plan;
        }

        if (history.Count == 0)
        {
            return plan;
        }

        var learned = plan.WithHistory(history);
        var count = learned.Tasks.Count(t => t.Learned is not null);
        if (!quiet && count > 0)
        {
            console.Error.WriteLine($"estimates: {count} of {plan.Tasks.Count} tasks plan with what earlier runs measured (the median of their last {RunJournal.HistoryDepth} executions; --no-history for the plan's own)");
        }

        return learned;
    }

    /// <summary>Opens a journal to read, printing why not (exit code 2) when it cannot be.</summary>
    public static RunJournal? OpenExisting(string? given, CliConsole console)
    {
        var path = Resolve(given);
        try
        {
            return RunJournal.Open(path, create: false);
        }
        catch (JournalException ex)
        {
            console.Error.WriteLine($"error: {ex.Message}");
            if (given is null && Environment.GetEnvironmentVariable(RunJournal.PathVariable) is not { Length: > 0 })
            {
                // A run is journaled beside its plan: the folders just below this one are where a newcomer's runs went.
                var nearby = Directory.EnumerateDirectories(Directory.GetCurrentDirectory())
                    .Where(folder => File.Exists(Path.Combine(folder, FileLookup.Journal)))
                    .Select(Path.GetFileName)
                    .Order(StringComparer.Ordinal)
                    .Take(5)
                    .ToList();
                console.Error.WriteLine($"No journal in {FileLookup.Places(FileLookup.Journal, null)}. A run is journaled beside its plan (or where --journal says): pass --journal with that folder or file"
                    + (nearby.Count == 0 ? "." : $"; these folders here have one: {string.Join(", ", nearby.Select(f => $"--journal {ShellQuote.Quote(f!)}"))}"));
            }

            return null;
        }
    }
}
