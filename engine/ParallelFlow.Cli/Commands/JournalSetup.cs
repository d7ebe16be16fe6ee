using System.CommandLine;
using ParallelFlow.Journal;

namespace ParallelFlow.Cli.Commands;

/// <summary>The <c>--journal</c> option, the default journal places, and what identifies a plan's content.</summary>
internal static class JournalSetup
{
    public static Option<string?> Option(string description) => new("--journal") { Description = description };

    /// <summary>Where <c>runs</c>, <c>show</c> and <c>resume</c> look: the option's file (or folder), else <c>.parallelflow/journal.db</c> here.</summary>
    public static string Resolve(string? given)
    {
        if (given is null)
        {
            return Environment.GetEnvironmentVariable(RunJournal.PathVariable) is { Length: > 0 } configured ? configured : Path.Combine(".parallelflow", "journal.db");
        }

        return Directory.Exists(given) ? Path.Combine(given, ".parallelflow", "journal.db") : given;
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
            if (given is null)
            {
                console.Error.WriteLine("Runs are journaled in .parallelflow/journal.db beside their plan: pass --journal with that folder or file.");
            }

            return null;
        }
    }
}
