using System.CommandLine;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Plugins;

namespace ParallelFlow.Cli.Commands;

/// <summary>The <c>--plugins</c> option and making an engine with the plugins it lists. Without the option,
/// <c>plugins.json</c> in the current folder is used when there is one, else the plugins the installed tool carries.</summary>
internal static class PluginSetup
{
    public const string DefaultFile = "plugins.json";

    /// <summary>The plugins the .NET tool carries, beside the command; used when the current folder has no plugins.json.</summary>
    private static readonly string Bundled = Path.Combine(AppContext.BaseDirectory, "plugins", "plugins.json");

    /// <summary><c>--grace-period</c>, for the commands that run tasks.</summary>
    public static Option<double?> GracePeriodOption() => NumberOptions.Real("--grace-period",
        "Seconds a cancelled or timed-out task's worker is given to stop (a process tree to be killed) before it is abandoned (default 5, at most 20).",
        above: 0, orEqual: true, max: 20);

    public static Option<string?> Option() => new("--plugins")
    {
        Description = $"The plugin list to load (default: {DefaultFile} in the current folder, else the plugins the tool carries).",
    };

    /// <summary>Makes an engine with the built-in workers and every plugin that loads; prints, naming the plugin,
    /// why each other one did not.</summary>
    public static (ParallelFlowEngine Engine, PluginLoadReport? Report) CreateEngine(string? pluginsPath, CliConsole console, double? gracePeriodSeconds = null, bool verbose = false)
    {
        var logs = verbose ? new Output.VerboseLog(console.Error) : null;
        var catalog = BuiltInWorkers.CreateCatalog();
        var path = pluginsPath ?? (File.Exists(DefaultFile) ? DefaultFile : File.Exists(Bundled) ? Bundled : null);
        PluginLoadReport? report = null;
        if (path is not null)
        {
            report = PluginHost.LoadInto(catalog, path, logs);
            foreach (var error in report.Errors)
            {
                console.Error.WriteLine(error);
            }
        }

        var options = gracePeriodSeconds is { } grace
            ? new EngineOptions { Catalog = catalog, CancellationGracePeriod = TimeSpan.FromSeconds(grace), LoggerFactory = logs }
            : new EngineOptions { Catalog = catalog, LoggerFactory = logs };
        return (new ParallelFlowEngine(options), report);
    }
}
