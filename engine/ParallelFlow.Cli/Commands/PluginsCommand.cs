using System.CommandLine;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>parallelflow plugins</c>: lists the loaded plugins, their versions and what each provides.</summary>
internal static class PluginsCommand
{
    public static Command Create(CliConsole console)
    {
        var plugins = PluginSetup.Option();
        var command = new Command("plugins", "Lists the plugins that load, their versions and what each provides.") { plugins };
        command.SetAction(parseResult =>
        {
            var (_, report, used) = PluginSetup.CreateEngine(parseResult.GetValue(plugins), console);
            console.Out.WriteLine(used is null ? $"no {PluginSetup.DefaultFile} found (looked for {FileLookup.Places(PluginSetup.DefaultFile, null)}): built-in workers only" : $"plugins: {used}");
            console.Out.WriteLine($"built-in: workers {string.Join(", ", BuiltInWorkers.CreateCatalog().WorkerNames)}; strategies {string.Join(", ", SchedulingStrategies.BuiltIn)}");
            foreach (var plugin in report?.Plugins ?? [])
            {
                var provides = new[] { ("workers", plugin.Workers), ("scorers", plugin.Scorers), ("mergers", plugin.Mergers), ("strategies", plugin.Strategies) }
                    .Where(p => p.Item2.Count > 0)
                    .Select(p => $"{p.Item1} {string.Join(", ", p.Item2)}");
                console.Out.WriteLine($"{plugin.Name} {plugin.Version}: {string.Join("; ", provides)} ({plugin.AssemblyPath})");
            }

            return report?.Errors.Count > 0 ? ExitCodes.InvalidInput : ExitCodes.Success;
        });
        return command;
    }
}
