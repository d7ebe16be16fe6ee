using System.CommandLine;
using ParallelFlow.Cli.Commands;

namespace ParallelFlow.Cli;

/// <summary>The parallelflow command line: <c>run</c>, <c>validate</c>, <c>plan</c> and the rest.</summary>
internal static class CliApplication
{
    /// <summary>Every command and option of the command line.</summary>
    public static RootCommand CreateRoot(CliConsole console) =>
        new("ParallelFlow runs a graph of tasks in parallel, as fast as their dependencies allow.")
        {
            RunCommand.Create(console),
            ValidateCommand.Create(console),
            PlanCommand.Create(console),
            PluginsCommand.Create(console),
            JournalCommands.Runs(console),
            JournalCommands.Show(console),
            JournalCommands.Resume(console),
            JournalCommands.Cache(console),
            ClusterCommands.Silo(console),
            ClusterCommands.Cluster(console),
            ServeCommand.Create(console),
            SubmitCommand.Create(console),
            McpCommand.Create(console),
            BenchCommand.Create(console),
        };

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default)
    {
        var root = CreateRoot(console);
        // With nothing to do, the help says what there is to do.
        var parseResult = root.Parse(args.Length == 0 ? ["--help"] : args);
        if (parseResult.Errors.Count > 0)
        {
            // Two missing arguments of one command read the same: said once.
            foreach (var error in parseResult.Errors.DistinctBy(e => e.Message))
            {
                await console.Error.WriteLineAsync($"error: {error.Message}").ConfigureAwait(false);
            }

            await console.Error.WriteLineAsync("Run 'parallelflow --help' for usage.").ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }

        var configuration = new InvocationConfiguration
        {
            Output = console.Out,
            Error = console.Error,
            // Ctrl+C and SIGTERM cancel the run through the action's token; the run then ends cancelled and reports it,
            // once its workers have stopped — within --grace-period (at most 20 s), well inside this limit.
            ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (ParallelFlow.Journal.JournalException ex)
        {
            // A journal that cannot be used (locked, damaged, newer) is the user's to fix, whenever it shows.
            await console.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }
#pragma warning disable CA1031 // The command's last line of defence: one readable line, never a stack trace.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await console.Error.WriteLineAsync($"error: {ex.Message} ({ex.GetType().Name}); this is a ParallelFlow bug, please report it.").ConfigureAwait(false);
            return ExitCodes.TasksFailed;
        }
    }
}
