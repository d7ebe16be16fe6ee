using System.CommandLine;
using ParallelFlow.Engine;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>parallelflow validate PLAN</c>: checks a plan and reports every problem, without running it.</summary>
internal static class ValidateCommand
{
    public static Command Create(CliConsole console)
    {
        var input = new PlanSource(takesWorkers: false);
        var command = new Command("validate", "Checks a plan and reports every problem at once, without running it.");
        input.AddTo(command);
        command.SetAction(parseResult =>
        {
            var loaded = input.Check(parseResult, console);
            if (loaded is null)
            {
                return ExitCodes.InvalidInput;
            }

            var analysis = ParallelFlowEngine.Analyze(loaded);
            console.Out.WriteLine($"{input.PathOf(parseResult)}: valid — {analysis.TaskCount} tasks, {analysis.EdgeCount} dependencies, {analysis.Waves.Count} waves");
            if (loaded.Inputs.Count > 0)
            {
                console.Out.WriteLine("inputs:");
                foreach (var line in InputOptions.Describe(loaded))
                {
                    console.Out.WriteLine(line);
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
