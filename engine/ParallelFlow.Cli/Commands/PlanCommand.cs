using System.CommandLine;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Reporting;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>parallelflow plan PLAN --format text|json|mermaid|dot</c>: shows a plan's waves, critical path and bounds.</summary>
internal static class PlanCommand
{
    public static Command Create(CliConsole console)
    {
        var plan = CommonOptions.PlanArgument();
        var config = CommonOptions.ConfigOption();
        var workers = CommonOptions.WorkersOption();
        var format = new Option<string>("--format", "-f")
        {
            Description = "Output format.",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong([.. PlanRenderer.Formats]);
        var command = new Command("plan", "Shows a plan's waves, critical path and lower bound, or its graph as Mermaid or DOT.") { plan, config, workers, format };
        command.SetAction(parseResult =>
        {
            var engine = new ParallelFlowEngine();
            var path = parseResult.GetRequiredValue(plan);
            var requested = parseResult.GetValue(workers);
            var loaded = CommonOptions.LoadPlan(engine, path, parseResult.GetValue(config), requested, console);
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
