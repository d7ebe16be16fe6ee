using System.CommandLine;
using ParallelFlow.Engine;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>parallelflow validate PLAN</c>: checks a plan and reports every problem, without running it.</summary>
internal static class ValidateCommand
{
    public static Command Create(CliConsole console)
    {
        var plan = CommonOptions.PlanArgument();
        var config = CommonOptions.ConfigOption();
        var command = new Command("validate", "Checks a plan and reports every problem at once, without running it.") { plan, config };
        command.SetAction(parseResult =>
        {
            var engine = new ParallelFlowEngine();
            var path = parseResult.GetRequiredValue(plan);
            var loaded = CommonOptions.LoadPlan(engine, path, parseResult.GetValue(config), null, console);
            if (loaded is null)
            {
                return ExitCodes.InvalidInput;
            }

            var analysis = ParallelFlowEngine.Analyze(loaded);
            console.Out.WriteLine($"{path}: valid — {analysis.TaskCount} tasks, {analysis.EdgeCount} dependencies, {analysis.Waves.Count} waves");
            return ExitCodes.Success;
        });
        return command;
    }
}
