using System.Reflection;

namespace ParallelFlow.Engine.Plugins;

/// <summary>Loads a plugin's assembly in a load context of its own, so that plugins can carry different versions of
/// the same dependency. The engine depends only on this; <see cref="IsolatedPluginAssemblyLoader"/> is the default.</summary>
public interface IPluginAssemblyLoader
{
    /// <summary>Loads a plugin's main assembly.</summary>
    /// <param name="assemblyPath">The full path of the built plugin assembly; its dependencies sit beside it.</param>
    /// <param name="sharedTypes">Types the plugin must see as the host's own (the SDK's contract, logging), not copies.</param>
    /// <returns>The loaded assembly.</returns>
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(PluginHost.LoadsAssemblies)]
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(PluginHost.LoadsAssemblies)]
    Assembly Load(string assemblyPath, IReadOnlyCollection<Type> sharedTypes);
}
