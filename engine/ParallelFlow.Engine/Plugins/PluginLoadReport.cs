using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Plugins;

/// <summary>What loading a plugin list did: the plugins that loaded and, for each that did not, why.</summary>
/// <param name="Plugins">The plugins that loaded, in list order.</param>
/// <param name="Errors">One error per plugin that did not load (or per problem in the list), naming the plugin.</param>
public sealed record PluginLoadReport(IReadOnlyList<LoadedPlugin> Plugins, IReadOnlyList<PlanError> Errors);
