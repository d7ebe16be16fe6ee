using System.CommandLine;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Plugins;

namespace ParallelFlow.Cli.Commands;

/// <summary>The <c>--plugins</c> option and making an engine with the plugins it lists. Without the option,
/// <c>plugins.json</c> is looked for as <see cref="FileLookup"/> says (beside the plan, the current folder,
/// <c>$PARALLELFLOW_HOME</c>), else the plugins the installed tool carries are used.</summary>
internal static class PluginSetup
{
    public const string DefaultFile = "plugins.json";

    /// <summary>The plugins the .NET tool carries, beside the command; used when the current folder has no plugins.json.</summary>
    private static readonly string Bundled = Path.Combine(AppContext.BaseDirectory, "plugins", "plugins.json");

    /// <summary>The plugin list a command loads: the option's, else the first plugins.json beside the plan, here or in
    /// $PARALLELFLOW_HOME, else the one the tool carries; null when there is none.</summary>
    public static string? Resolve(string? pluginsPath, string? planPath = null) =>
        pluginsPath ?? FileLookup.Find(DefaultFile, planPath) ?? (File.Exists(Bundled) ? Bundled : null);

    /// <summary><c>--grace-period</c>, for the commands that run tasks.</summary>
    public static Option<double?> GracePeriodOption() => NumberOptions.Real("--grace-period",
        "Seconds a cancelled or timed-out task's worker is given to stop (a process tree to be killed) before it is abandoned (default 5, at most 20).",
        above: 0, orEqual: true, max: 20);

    /// <summary>When a plan names workers nothing provides and no plugins.json was found, says so: the workers a
    /// plugin provides are unknown only because none was loaded.</summary>
    public static void ExplainUnknownWorkers(IEnumerable<Engine.Plans.PlanError> errors, string? pluginsPath, string? planPath, CliConsole console)
    {
        if (pluginsPath is null && errors.Any(e => e.Code == Engine.Plans.PlanError.UnknownWorkerCode
            || e.Message.Contains("unknown scorer", StringComparison.Ordinal) || e.Message.Contains("unknown merger", StringComparison.Ordinal)))
        {
            console.Error.WriteLine($"note: no {DefaultFile} was found (looked for {FileLookup.Places(DefaultFile, planPath)}), so only the built-in workers are known (and no scorer or merger); pass --plugins FILE, or set ${FileLookup.HomeVariable} to a folder that has one.");
        }
    }

    /// <summary>A plugin list given with <c>--plugins</c> that cannot be read as one (missing, not JSON, not a list) stops
    /// the command: the user named it, so running without it would hide a typo. Says so and returns true.</summary>
    /// <param name="given">The list given with --plugins, or null.</param>
    /// <param name="errors">The problems reading or loading it (a load report's errors), or null.</param>
    /// <param name="console">Where to say so.</param>
    public static bool Refused(string? given, IEnumerable<Engine.Plans.PlanError>? errors, CliConsole console)
    {
        if (given is null || errors is null || !errors.Any(e => (e.Code is PluginErrors.ManifestCode or Engine.Plans.PlanError.SyntaxCode) && e.Source is { } file && Path.GetFullPath(file) == Path.GetFullPath(given)))
        {
            return false;
        }

        console.Error.WriteLine($"{given}: error: the plugin list given with --plugins cannot be used (see above); nothing was run.");
        return true;
    }

    public static Option<string?> Option() => new("--plugins")
    {
        Description = $"The plugin list to load (default: the first {DefaultFile} beside the plan, in the current folder or in ${FileLookup.HomeVariable}; else the plugins the tool carries).",
    };

    /// <summary>Makes an engine with the built-in workers and every plugin that loads; prints, naming the plugin,
    /// why each other one did not.</summary>
    /// <returns>The engine, what loaded, and the plugins.json used (null when none was found).</returns>
    public static (ParallelFlowEngine Engine, PluginLoadReport? Report, string? Path) CreateEngine(string? pluginsPath, CliConsole console, double? gracePeriodSeconds = null, bool verbose = false, string? planPath = null)
    {
        var logs = verbose ? new Output.VerboseLog(console.Error) : null;
        var catalog = BuiltInWorkers.CreateCatalog();
        var path = Resolve(pluginsPath, planPath);
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
        return (new ParallelFlowEngine(options), report, path);
    }
}
