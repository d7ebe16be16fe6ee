using System.CommandLine;
using Microsoft.Extensions.Logging;
using ParallelFlow.Server;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>parallelflow serve</c>: the engine behind an HTTP API, on this machine only unless told otherwise.</summary>
internal static class ServeCommand
{
    public static Command Create(CliConsole console)
    {
        var urls = new Option<string>("--urls") { Description = $"Where to listen (default {ServeSettings.DefaultUrls}: this machine only). Any other address needs a bearer token: ${ServeSettings.TokenVariable}, else one is made and printed once.", DefaultValueFactory = _ => ServeSettings.DefaultUrls };
        var plans = new Option<string?>("--plans") { Description = "A folder of plan files (.json, .yaml): the plans clients run, by file name." };
        var plugins = PluginSetup.Option();
        var journal = JournalSetup.Option("The run journal (a SQLite file, or a PostgreSQL database: Host=…;Database=…); runs are recorded there. Default: none.");
        var workers = NumberOptions.Whole("--workers", "How many tasks run at once across every run of the service (default: the processor count).", 1);
        var allow = new Option<string[]>("--allow-worker")
        {
            Description = "A worker plans sent over HTTP may use, repeated or comma-separated (default: every loaded worker but process, so that a plan cannot get a shell here). Plans of --plans may use every worker.",
            AllowMultipleArgumentsPerToken = true,
        };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Print the service's request and engine log lines on stderr." };
        var command = new Command("serve", "Serves the engine over HTTP: POST /runs of the --plans plans, GET /runs, /runs/ID, /runs/ID/events (Server-Sent Events), POST /runs/ID/cancel, GET /plans, /health.")
        {
            urls, plans, plugins, journal, workers, allow, verbose,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var address = parseResult.GetValue(urls)!;
            var folder = parseResult.GetValue(plans);
            if (folder is not null && !Directory.Exists(folder))
            {
                await console.Error.WriteLineAsync($"error: --plans: {Path.GetFullPath(folder)} is not a folder").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            var token = Environment.GetEnvironmentVariable(ServeSettings.TokenVariable) is { Length: > 0 } given ? given : null;
            if (token is null && !ParallelFlowServer.IsLoopback(address))
            {
                // Off this machine, nobody may submit work without the token: one is made, shown here only.
                token = ParallelFlowServer.NewToken();
                await console.Error.WriteLineAsync($"{address} is not loopback: requests need 'Authorization: Bearer {token}' (set ${ServeSettings.TokenVariable} to choose the token)").ConfigureAwait(false);
            }

            var settings = new ServeSettings
            {
                Urls = address,
                PlansFolder = folder is null ? null : Path.GetFullPath(folder),
                // As every command finds them: --plugins, else the first plugins.json here or in $PARALLELFLOW_HOME, else the tool's.
                Plugins = PluginSetup.Resolve(parseResult.GetValue(plugins)) is { } p ? Path.GetFullPath(p) : null,
                Journal = parseResult.GetValue(journal) is { } j ? (Journal.RunJournal.IsDatabase(j) ? j : Path.GetFullPath(j)) : null,
                Workers = parseResult.GetValue(workers),
                Token = token,
                AllowedWorkers = parseResult.GetValue(allow) is { Length: > 0 } allowed
                    ? [.. allowed.SelectMany(a => a.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))]
                    : null,
            };
            var level = parseResult.GetValue(verbose) ? LogLevel.Information : LogLevel.Warning;
            await using var app = ParallelFlowServer.Build(settings, logging =>
            {
                logging.AddSimpleConsole(o => o.SingleLine = true);
                Microsoft.Extensions.DependencyInjection.OptionsServiceCollectionExtensions.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(logging.Services, o => o.LogToStandardErrorThreshold = LogLevel.Trace);
                logging.SetMinimumLevel(level);
                logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
                logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
            });
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
            await console.Out.WriteLineAsync($"serving on {string.Join(", ", app.Urls)} (pid {Environment.ProcessId}); plans: {(plansServed.Count == 0 ? "none (--plans DIR)" : string.Join(", ", plansServed))}").ConfigureAwait(false);
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
