namespace ParallelFlow.Engine.Plugins;

/// <summary>A plugin that loaded, and what it provides.</summary>
/// <param name="Name">Its name in plugins.json.</param>
/// <param name="Version">Its assembly's informational version.</param>
/// <param name="AssemblyPath">Where it was loaded from.</param>
/// <param name="Workers">The worker types it registered.</param>
/// <param name="Scorers">The scorers it registered.</param>
/// <param name="Mergers">The mergers it registered.</param>
public sealed record LoadedPlugin(string Name, string Version, string AssemblyPath, IReadOnlyList<string> Workers, IReadOnlyList<string> Scorers, IReadOnlyList<string> Mergers)
{
    /// <summary>The scheduling strategies it registered.</summary>
    public IReadOnlyList<string> Strategies { get; init; } = [];
}
