using System.CommandLine;
using ParallelFlow.Cli.Output;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Reporting;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>parallelflow run PLAN</c>: runs a plan with live progress and writes its report.</summary>
internal static class RunCommand
{
    public static Command Create(CliConsole console)
    {
        var input = new PlanInput(takesWorkers: true);
        var report = new Option<string?>("--report", "-r")
        {
            Description = "Write the run's report (JSON, in the output format of parallel task executors) to this file.",
        };
        var quiet = new Option<bool>("--quiet", "-q")
        {
            Description = "Print only the summary, not each event.",
        };
        var command = new Command("run", "Runs a plan: each task starts as soon as its dependencies are done.") { report, quiet };
        input.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var requested = input.WorkersOf(parseResult);
            var (engine, loaded) = input.Load(parseResult, console);
            if (loaded is null)
            {
                return ExitCodes.InvalidInput;
            }

            // Opened before the run, so that a report that cannot be written stops the command before any work.
            await using var reportStream = OpenReport(parseResult.GetValue(report), console);
            if (parseResult.GetValue(report) is not null && reportStream is null)
            {
                return ExitCodes.InvalidInput;
            }

            var run = engine.Compile(loaded).Start(new RunOptions { Workers = requested, StreamEvents = true }, cancellationToken);
            IRunView view = parseResult.GetValue(quiet) ? new QuietView() : console.IsInteractive ? new LiveView(console, loaded, run) : new PlainView(console);
            await view.ShowAsync(run.ReadEventsAsync(CancellationToken.None)).ConfigureAwait(false);
            var result = await run.Completion.ConfigureAwait(false);

            RunSummary.Print(result, console);
            if (reportStream is not null)
            {
                RunReport.Write(result, reportStream);
                await console.Out.WriteLineAsync($"report: {parseResult.GetValue(report)}").ConfigureAwait(false);
            }

            return result.Status switch
            {
                RunStatus.Succeeded => ExitCodes.Success,
                RunStatus.Cancelled => ExitCodes.Cancelled,
                _ => ExitCodes.TasksFailed,
            };
        });
        return command;
    }

    private static FileStream? OpenReport(string? path, CliConsole console)
    {
        if (path is null)
        {
            return null;
        }

        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            return File.Create(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            console.Error.WriteLine($"{path}: error: cannot write the report: {ex.Message.TrimEnd('.')}; nothing was run.");
            return null;
        }
    }
}
