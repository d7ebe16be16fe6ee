using System.Reflection;
using McMaster.NETCore.Plugins;

namespace ParallelFlow.Engine.Plugins;

/// <summary>Loads each plugin in its own <c>AssemblyLoadContext</c> through McMaster.NETCore.Plugins. Only the shared
/// types' assemblies (the SDK contract, logging) come from the host; every other dependency comes from the plugin's
/// own folder, even when the host has another version of it loaded. Plugins stay loaded for the life of the process:
/// there is no unloading or hot reload.</summary>
public sealed class IsolatedPluginAssemblyLoader : IPluginAssemblyLoader
{
    private readonly List<PluginLoader> _loaders = [];
    private readonly Lock _gate = new();

    /// <inheritdoc/>
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(PluginHost.LoadsAssemblies)]
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode(PluginHost.LoadsAssemblies)]
    public Assembly Load(string assemblyPath, IReadOnlyCollection<Type> sharedTypes)
    {
        // PreferSharedTypes stays off: with it, any host assembly of a compatible version would replace the plugin's own
        // copy, and two plugins could no longer hold two versions of one dependency.
        var loader = PluginLoader.CreateFromAssemblyFile(assemblyPath, [.. sharedTypes], _ => { });
        lock (_gate)
        {
            _loaders.Add(loader);
        }

        return loader.LoadDefaultAssembly();
    }
}
