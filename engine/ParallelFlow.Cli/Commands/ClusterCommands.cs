using System.CommandLine;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using ParallelFlow.Engine.Diagnostics;
using ParallelFlow.Engine.Plugins;
using ParallelFlow.Orleans;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>parallelflow silo</c> and <c>parallelflow cluster status</c>, and the <c>--cluster</c> option of <c>run</c>.</summary>
internal static class ClusterCommands
{
    public static Option<string?> ClusterOption() => new("--cluster")
    {
        Description = "Run the tasks on the silos of a cluster: redis://HOST:PORT, a PostgreSQL database (Host=…;Database=… or postgresql://USER@HOST/NAME, the password in PGPASSWORD), or localhost (silos on this machine, for a try-out). The scheduler stays in this process.",
    };

    /// <summary>Reads <c>--cluster</c>, printing what is wrong with it.</summary>
    public static ClusterConnection? Parse(string text, CliConsole console)
    {
        try
        {
            return ClusterConnection.Parse(text);
        }
        catch (FormatException ex)
        {
            console.Error.WriteLine($"error: --cluster: {ex.Message}");
            return null;
        }
    }

    /// <summary>Connects to a cluster as a coordinator; on failure prints why and returns null.</summary>
    public static async Task<ClusterSession?> ConnectAsync(ClusterConnection cluster, CliConsole console, bool verbose, CancellationToken cancellationToken)
    {
        try
        {
            var session = await ParallelFlowCluster.ConnectAsync(cluster, null, TimeSpan.FromSeconds(10), Logging(verbose ? LogLevel.Information : LogLevel.Error), cancellationToken).ConfigureAwait(false);
            if (session.Dispatcher.Silos.Count == 0)
            {
                await session.DisposeAsync().ConfigureAwait(false);
                await console.Error.WriteLineAsync($"error: --cluster {cluster}: no silo answered within 10s; start one with: parallelflow silo --cluster {ShellQuote.Quote(cluster.Text)}").ConfigureAwait(false);
                return null;
            }

            return session;
        }
        catch (TimeoutException)
        {
            await console.Error.WriteLineAsync($"error: --cluster {cluster}: no silo answered within 10s; start one with: parallelflow silo --cluster {ShellQuote.Quote(cluster.Text)}").ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await console.Error.WriteLineAsync($"error: --cluster {cluster}: cannot connect: {Reason(ex)}").ConfigureAwait(false);
            return null;
        }
    }

    public static Command Silo(CliConsole console)
    {
        var cluster = new Option<string>("--cluster") { Description = "The cluster to join: redis://HOST:PORT, a PostgreSQL database (Host=…;Database=… or postgresql://USER@HOST/NAME, the password in PGPASSWORD), or localhost.", Required = true };
        var plugins = new Option<string?>("--plugins") { Description = $"The silo's plugin list (default: the first {PluginSetup.DefaultFile} in the current folder or in ${FileLookup.HomeVariable}; else only the built-in workers)." };
        var slots = NumberOptions.Whole("--slots", "How many tasks this silo runs at once (default: its processor count).", 1);
        var workerSlots = new Option<string[]>("--worker-slots")
        {
            Description = "The most tasks of one worker type this silo runs at once, within --slots: TYPE=N, repeated or comma-separated (--worker-slots llm=2,process=4).",
            AllowMultipleArgumentsPerToken = true,
        };
        var port = NumberOptions.Whole("--port", "The port silos talk to this one on (default: a free one; 11111 for the first localhost silo).", 1);
        var gateway = NumberOptions.Whole("--gateway-port", "The port coordinators connect to (default: a free one; 30000 for the first localhost silo).", 1);
        var advertise = new Option<string?>("--advertise") { Description = "The address other machines reach this silo at (default: loopback for a cluster on 127.0.0.1, else this machine's first IPv4 address)." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Print Orleans' and the workers' informational log lines on stderr." };
        var command = new Command("silo", "Starts a silo: a process that runs the tasks of plans started with --cluster, with the workers of its own plugins.json. Stops on Ctrl+C or SIGTERM.")
        {
            cluster, plugins, slots, workerSlots, port, gateway, advertise, verbose,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            if (Parse(parseResult.GetValue(cluster)!, console) is not { } connection)
            {
                return ExitCodes.InvalidInput;
            }

            IPAddress? address = null;
            if (parseResult.GetValue(advertise) is { } text && !IPAddress.TryParse(text, out address))
            {
                await console.Error.WriteLineAsync($"error: --advertise: '{text}' is not an IP address").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            var pluginsPath = parseResult.GetValue(plugins) ?? FileLookup.Find(PluginSetup.DefaultFile, (string?)null);
            var catalog = Engine.BuiltInWorkers.CreateCatalog();
            if (pluginsPath is not null)
            {
                // Checked here, so that a silo with a broken plugin list says so and does not join.
                var report = PluginHost.LoadInto(catalog, pluginsPath);
                foreach (var error in report.Errors)
                {
                    await console.Error.WriteLineAsync(error.ToString()).ConfigureAwait(false);
                }
            }

            var slotCount = parseResult.GetValue(slots) ?? Environment.ProcessorCount;
            var perType = new Dictionary<string, int>(StringComparer.Ordinal);
            var workerNames = catalog.WorkerNames;
            foreach (var item in (parseResult.GetValue(workerSlots) ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            {
                var equals = item.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0 || !int.TryParse(item[(equals + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
                {
                    await console.Error.WriteLineAsync($"error: --worker-slots: '{item}' is not TYPE=N with N a whole number of 1 or more").ConfigureAwait(false);
                    return ExitCodes.InvalidInput;
                }

                var type = item[..equals];
                if (!workerNames.Contains(type))
                {
                    var close = ParallelFlow.Engine.Plans.DisplayText.Suggest(type, workerNames);
                    await console.Error.WriteLineAsync($"error: --worker-slots: this silo has no worker '{type}'{(close is null ? string.Empty : $" (did you mean '{close}'?)")}; its workers: {string.Join(", ", workerNames)}").ConfigureAwait(false);
                    return ExitCodes.InvalidInput;
                }

                perType[type] = count;
            }

            using var host = ParallelFlowCluster.BuildSilo(connection, o =>
            {
                o.Plugins = pluginsPath;
                o.Slots = slotCount;
                o.WorkerSlots = perType;
            }, parseResult.GetValue(port) ?? 0, parseResult.GetValue(gateway) ?? 0, address, Logging(parseResult.GetValue(verbose) ? LogLevel.Information : LogLevel.Warning));
            try
            {
                await host.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await console.Error.WriteLineAsync($"error: the silo could not join {connection}: {Reason(ex)}").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            var workers = (Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<global::Orleans.Runtime.ILocalSiloDetails>(host.Services));
            await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"silo {workers.SiloAddress.ToParsableString()} joined {connection} (pid {Environment.ProcessId}, gateway {workers.GatewayAddress?.Endpoint}): {slotCount} slot(s){PerType(perType)}, plugins {pluginsPath ?? "none (built-in workers only)"}")).ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: leave the cluster gracefully, so coordinators send nothing more here.
            }

            await console.Out.WriteLineAsync("silo stopping: leaving the cluster").ConfigureAwait(false);
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await host.StopAsync(stop.Token).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Cluster(CliConsole console)
    {
        var cluster = new Option<string>("--cluster") { Description = "The cluster: redis://HOST:PORT, a PostgreSQL database (Host=…;Database=… or postgresql://USER@HOST/NAME), or localhost.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the silos as JSON." };
        var status = new Command("status", "Lists the cluster's silos: their workers, slots in use and tasks done.") { cluster, json };
        status.SetAction(async (parseResult, cancellationToken) =>
        {
            if (Parse(parseResult.GetValue(cluster)!, console) is not { } connection)
            {
                return ExitCodes.InvalidInput;
            }

            await using var session = await ConnectAsync(connection, console, verbose: false, cancellationToken).ConfigureAwait(false);
            if (session is null)
            {
                return ExitCodes.InvalidInput;
            }

            var silos = session.Dispatcher.Silos;
            if (parseResult.GetValue(json))
            {
                await console.Out.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(silos.Select(s => new
                {
                    silo = s.Name,
                    host = s.Host,
                    pid = s.ProcessId,
                    workers = s.Workers,
                    slots = s.Slots,
                    in_use = s.InUse,
                    done = s.Done,
                    failed = s.Failed,
                    plugins = s.Plugins,
                    worker_slots = s.WorkerSlots,
                }))).ConfigureAwait(false);
                return ExitCodes.Success;
            }

            await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{connection}: {silos.Count} silo(s), {silos.Sum(s => s.Slots)} slot(s), {silos.Sum(s => s.InUse)} in use")).ConfigureAwait(false);
            foreach (var silo in silos)
            {
                await console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"  {silo.Name}  {silo.Host} pid {silo.ProcessId}  slots {silo.InUse}/{silo.Slots} in use{PerType(silo.WorkerSlots)}  done {silo.Done}  failed {silo.Failed}\n    workers: {string.Join(", ", silo.Workers)}")).ConfigureAwait(false);
            }

            return ExitCodes.Success;
        });
        return new Command("cluster", "Looks at a cluster of silos.") { status };
    }

    private static string PerType(IReadOnlyDictionary<string, int> perType) =>
        perType.Count == 0 ? string.Empty : $" (at most {string.Join(", ", perType.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Value} {p.Key}"))})";

    /// <summary>Why a connection failed, as the operator can act on it: PostgreSQL's failures explained, others cut to
    /// their first sentence.</summary>
    private static string Reason(Exception ex) => ParallelFlow.Postgres.PostgresConnectionText.Explain(ex) ?? FirstSentence(ex.Message);

    /// <summary>A client library's message without its advice to programmers ("use abortConnect=false in your code").</summary>
    private static string FirstSentence(string message) =>
        message.IndexOf(". ", StringComparison.Ordinal) is var end and > 0 ? message[..end] : message.TrimEnd('.');

    /// <summary>Orleans' own lines from <paramref name="level"/> up, on stderr (stdout is the command's).</summary>
    private static Action<ILoggingBuilder> Logging(LogLevel level) => logging =>
    {
        logging.AddSimpleConsole(o => o.SingleLine = true);
        Microsoft.Extensions.DependencyInjection.OptionsServiceCollectionExtensions.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(logging.Services, o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        logging.SetMinimumLevel(level);
        // A host that cannot start says so once, in the command's own error line, not as a logged stack trace.
        logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        logging.AddFilter("Orleans.Runtime.SiloLifecycleSubject", LogLevel.None);
        logging.AddFilter("Orleans.ClusterClientLifecycle", LogLevel.None);
        if (level > LogLevel.Information)
        {
            // Orleans' own warnings (start-up notes, a peer's connection reset with its stack trace when a member dies)
            // are not the operator's concern without --verbose; ParallelFlow's (a lost silo, a requeue) are.
            logging.AddFilter("Orleans", LogLevel.Error);
        }
    };
}
