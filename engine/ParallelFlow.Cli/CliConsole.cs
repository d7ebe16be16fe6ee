namespace ParallelFlow.Cli;

/// <summary>Where the command writes, and whether a person is watching: live progress only for an interactive
/// terminal, one plain line per event otherwise (pipes, files, CI).</summary>
internal sealed record CliConsole(TextWriter Out, TextWriter Error, bool IsInteractive)
{
    public static CliConsole System { get; } = new(
        Console.Out,
        Console.Error,
        !Console.IsOutputRedirected && !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("CI") is null
            && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb"));
}
