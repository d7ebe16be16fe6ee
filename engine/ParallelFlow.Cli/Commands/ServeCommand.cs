using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ParallelFlow.Server;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>parallelflow serve</c>: the engine behind an HTTP API, on this machine only unless told otherwise.</summary>
internal static class ServeCommand
{
    public static Command Create(CliConsole console)
    {
        var urls = new Option<string>("--urls") { Description = $"Where to listen (default {ServeSettings.DefaultUrls}: this machine only). Any other address needs a bearer token: ${ServeSettings.TokenVariable}, else one is made and printed once.", DefaultValueFactory = _ => ServeSettings.DefaultUrls };
        var options = new ServiceOptions();
        var command = new Command("serve", "Serves the engine over HTTP: the dashboard at /, POST /runs of the --plans plans (or a plan sent), GET /runs, /runs/ID, /runs/ID/events (Server-Sent Events), POST /runs/ID/cancel and /resume, GET /plans, /health, MCP tools at /mcp.")
        {
            urls,
        };
        options.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var address = parseResult.GetValue(urls)!;
            if (await options.ReadAsync(parseResult, console).ConfigureAwait(false) is not { } settings)
            {
                return ExitCodes.InvalidInput;
            }

            var token = Environment.GetEnvironmentVariable(ServeSettings.TokenVariable) is { Length: > 0 } given ? given : null;
            if (token is null && !ParallelFlowServer.IsLoopback(address))
            {
                // Off this machine, nobody may submit work without the token: one is made, shown here only.
                token = ParallelFlowServer.NewToken();
                await console.Error.WriteLineAsync($"{address} is not loopback: requests need 'Authorization: Bearer {token}' (set ${ServeSettings.TokenVariable} to choose the token)").ConfigureAwait(false);
            }

            settings = settings with { Urls = address, Token = token };
            await using var app = ParallelFlowServer.Build(settings, options.Logging(parseResult));
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or Microsoft.Extensions.Options.OptionsValidationException)
            {
                await console.Error.WriteLineAsync($"error: the service could not start: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            var plansServed = ParallelFlowServer.Plans(settings.PlansFolder).Select(x => x.Name).ToList();
            await console.Out.WriteLineAsync($"serving on {string.Join(", ", app.Urls)} (pid {Environment.ProcessId}); plans: {(plansServed.Count == 0 ? "none (--plans DIR)" : string.Join(", ", plansServed))}{(token is null ? string.Empty : "; every request needs the bearer token")}").ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: runs in flight are cancelled within the grace period, and the journal keeps them.
            }

            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await app.StopAsync(stop.Token).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}

/// <summary><c>parallelflow mcp</c>: the engine as Model Context Protocol tools over stdin and stdout, for a coding agent
/// that starts it; the same plans, allow-list and journal settings as <c>serve</c>. Stdout carries only the protocol.</summary>
internal static class McpCommand
{
    public static Command Create(CliConsole console)
    {
        var options = new ServiceOptions();
        var command = new Command("mcp", "Serves the engine as MCP tools over stdio (run_plan, run_request, get_run, get_task, cancel_run, list_plans, list_runs), for a coding agent to start; logs go to stderr.");
        options.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            if (await options.ReadAsync(parseResult, console).ConfigureAwait(false) is not { } settings)
            {
                return ExitCodes.InvalidInput;
            }

            using var host = ParallelFlowServer.BuildStdio(settings, options.Logging(parseResult));
            try
            {
                await host.RunAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The agent closed stdin, or Ctrl+C.
            }

            return ExitCodes.Success;
        });
        return command;
    }
}

/// <summary>The options <c>serve</c> and <c>mcp</c> share, and the settings they make.</summary>
internal sealed class ServiceOptions
{
    private readonly Option<string?> _plans = new("--plans") { Description = "A folder of plan files (.json, .yaml): the plans clients run, by file name." };
    private readonly Option<string?> _plugins = PluginSetup.Option();
    private readonly Option<string?> _journal = JournalSetup.Option("The run journal (a SQLite file, or a PostgreSQL database: Host=…;Database=…); runs are recorded there. Default: none.");
    private readonly Option<int?> _workers = NumberOptions.Whole("--workers", "How many tasks run at once across every run of the service (default: the processor count).", 1);
    private readonly Option<int?> _maxRuns = NumberOptions.Whole("--max-runs", "How many runs may be under way at once; more wait in a queue (default: no limit).", 1);
    private readonly Option<int?> _maxQueued = NumberOptions.Whole("--max-queued", "How many runs may wait; beyond that a run is refused (over HTTP, 429 with Retry-After). Default 1000.", 0);
    private readonly Option<string[]> _allow = new("--allow-worker")
    {
        Description = "A worker plans sent by clients may use, repeated or comma-separated (default: every loaded worker but process, so that a plan cannot get a shell here). Plans of --plans may use every worker.",
        AllowMultipleArgumentsPerToken = true,
    };

    private readonly Option<bool> _verbose = new("--verbose", "-v") { Description = "Print the service's request and engine log lines on stderr." };

    public void AddTo(Command command)
    {
        command.Options.Add(_plans);
        command.Options.Add(_plugins);
        command.Options.Add(_journal);
        command.Options.Add(_workers);
        command.Options.Add(_maxRuns);
        command.Options.Add(_maxQueued);
        command.Options.Add(_allow);
        command.Options.Add(_verbose);
    }

    /// <summary>The settings, or null (after saying why on stderr) for a --plans that is not a folder.</summary>
    public async Task<ServeSettings?> ReadAsync(ParseResult parseResult, CliConsole console)
    {
        var folder = parseResult.GetValue(_plans);
        if (folder is not null && !Directory.Exists(folder))
        {
            await console.Error.WriteLineAsync($"error: --plans: {Path.GetFullPath(folder)} is not a folder").ConfigureAwait(false);
            return null;
        }

        return new ServeSettings
        {
            PlansFolder = folder is null ? null : Path.GetFullPath(folder),
            // As every command finds them: --plugins, else the first plugins.json here or in $PARALLELFLOW_HOME, else the tool's.
            Plugins = PluginSetup.Resolve(parseResult.GetValue(_plugins)) is { } p ? Path.GetFullPath(p) : null,
            Journal = parseResult.GetValue(_journal) is { } j ? (Journal.RunJournal.IsDatabase(j) ? j : Path.GetFullPath(j)) : null,
            Workers = parseResult.GetValue(_workers),
            MaxActiveRuns = parseResult.GetValue(_maxRuns),
            MaxQueuedRuns = parseResult.GetValue(_maxQueued),
            AllowedWorkers = parseResult.GetValue(_allow) is { Length: > 0 } allowed
                ? [.. allowed.SelectMany(a => a.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))]
                : null,
        };
    }

    /// <summary>Log lines on stderr, and only warnings unless --verbose: stdout is the protocol under <c>mcp</c>.</summary>
    public Action<ILoggingBuilder> Logging(ParseResult parseResult)
    {
        var level = parseResult.GetValue(_verbose) ? LogLevel.Information : LogLevel.Warning;
        return logging =>
        {
            logging.AddSimpleConsole(o => o.SingleLine = true);
            Microsoft.Extensions.DependencyInjection.OptionsServiceCollectionExtensions.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(logging.Services, o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            logging.SetMinimumLevel(level);
            logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
            logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        };
    }
}
