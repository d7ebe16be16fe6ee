using System.CommandLine;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Plugins;
using ParallelFlow.Engine.Workers;

namespace ParallelFlow.Cli.Commands;

/// <summary>The <c>--plugins</c> option and making an engine with the plugins it lists. Without the option,
/// <c>plugins.json</c> in the current folder is used when there is one.</summary>
internal static class PluginSetup
{
    public const string DefaultFile = "plugins.json";

    public static Option<string?> Option() => new("--plugins")
    {
        Description = $"The plugin list to load (default: {DefaultFile} in the current folder, when present).",
    };

    /// <summary>Makes an engine with the built-in workers and every plugin that loads; prints, naming the plugin,
    /// why each other one did not.</summary>
    public static (ParallelFlowEngine Engine, PluginLoadReport? Report) CreateEngine(string? pluginsPath, CliConsole console)
    {
        var catalog = WorkerCatalog.CreateDefault();
        var path = pluginsPath ?? (File.Exists(DefaultFile) ? DefaultFile : null);
        PluginLoadReport? report = null;
        if (path is not null)
        {
            report = PluginHost.LoadInto(catalog, path);
            foreach (var error in report.Errors)
            {
                console.Error.WriteLine(error);
            }
        }

        return (new ParallelFlowEngine(new EngineOptions { Catalog = catalog }), report);
    }
}
