namespace ParallelFlow.Cli.Tests;

/// <summary>The command line run in this process, its output captured: for the many short invocations of the
/// hostile-input and option tests, which would take minutes as separate processes.</summary>
public static class InProcessCli
{
    public static async Task<(int ExitCode, string Out, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await CliApplication.RunAsync(args, new CliConsole(output, error, IsInteractive: false));
        return (exitCode, output.ToString(), error.ToString());
    }
}
