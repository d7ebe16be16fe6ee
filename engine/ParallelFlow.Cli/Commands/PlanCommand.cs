using System.CommandLine;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Reporting;
using ParallelFlow.Journal;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>parallelflow plan PLAN --format text|json|mermaid|dot</c>: shows a plan's waves, critical path and bounds.</summary>
internal static class PlanCommand
{
    public static Command Create(CliConsole console)
    {
        var input = new PlanSource(takesWorkers: true);
        var format = new Option<string>("--format", "-f")
        {
            Description = "Output format.",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong([.. PlanRenderer.Formats]);
        var journal = JournalSetup.Option("The run journal whose earlier runs of the plan give learned estimates. Default: where run records the plan's runs; none when there is no journal yet.");
        var noHistory = JournalSetup.NoHistoryOption();
        var command = new Command("plan", "Shows a plan's waves, critical path and lower bound, or its graph as Mermaid or DOT; with estimates learned from earlier runs when the journal has them.") { format, journal, noHistory };
        input.AddTo(command);
        command.SetAction(parseResult =>
        {
            var requested = input.WorkersOf(parseResult);
            var (_, loaded) = input.Load(parseResult, console);
            if (loaded is null)
            {
                return ExitCodes.InvalidInput;
            }

            if (!parseResult.GetValue(noHistory))
            {
                var given = parseResult.GetValue(journal);
                var path = JournalSetup.Resolve(given, input.PathOf(parseResult));
                if (given is not null && !RunJournal.IsDatabase(path) && !File.Exists(path))
                {
                    console.Error.WriteLine($"note: there is no journal at {Path.GetFullPath(path)} yet, so the estimates are the plan's own");
                }
                else if (RunJournal.IsDatabase(path) || File.Exists(path))
                {
                    try
                    {
                        using var opened = RunJournal.Open(path, create: false);
                        loaded = loaded.WithHistory(opened.History(loaded.Id));
                    }
                    catch (JournalException ex)
                    {
                        // Learned estimates are extra: without them the plan is shown with its own.
                        console.Error.WriteLine($"note: no learned estimates: {ex.Message}");
                    }
                }
            }

            var analysis = ParallelFlowEngine.Analyze(loaded);
            var workerCount = Math.Min(loaded.Parallelism.Resolve(requested), Math.Max(1, analysis.TaskCount));
            console.Out.Write(PlanRenderer.Render(loaded, analysis, workerCount, parseResult.GetValue(format)!));
            return ExitCodes.Success;
        });
        return command;
    }
}
