using System.CommandLine;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Reporting;

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
        var command = new Command("plan", "Shows a plan's waves, critical path and lower bound, or its graph as Mermaid or DOT.") { format };
        input.AddTo(command);
        command.SetAction(parseResult =>
        {
            var requested = input.WorkersOf(parseResult);
            var (_, loaded) = input.Load(parseResult, console);
            if (loaded is null)
            {
                return ExitCodes.InvalidInput;
            }

            var analysis = ParallelFlowEngine.Analyze(loaded);
            var workerCount = Math.Min(loaded.Parallelism.Resolve(requested), Math.Max(1, analysis.TaskCount));
            console.Out.Write(PlanRenderer.Render(loaded, analysis, workerCount, parseResult.GetValue(format)!));
            return ExitCodes.Success;
        });
        return command;
    }
}
