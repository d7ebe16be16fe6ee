using ParallelFlow.Cli;
using ParallelFlow.ModelServer;

var root = ModelServerCommand.Create(CliConsole.System);
var parseResult = root.Parse(args);
if (parseResult.Errors.Count > 0)
{
    foreach (var error in parseResult.Errors)
    {
        await Console.Error.WriteLineAsync($"error: {error.Message}").ConfigureAwait(false);
    }

    await Console.Error.WriteLineAsync("Run 'parallelflow-model-server --help' for usage.").ConfigureAwait(false);
    return ExitCodes.InvalidInput;
}

return await parseResult.InvokeAsync().ConfigureAwait(false);
