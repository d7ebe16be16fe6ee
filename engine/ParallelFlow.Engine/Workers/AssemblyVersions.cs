using System.Collections.Concurrent;
using System.Reflection;

namespace ParallelFlow.Engine.Workers;

/// <summary>An assembly's informational version (else its version), read once per assembly.</summary>
internal static class AssemblyVersions
{
    private static readonly ConcurrentDictionary<Assembly, string> Versions = new();

    public static string Of(Assembly assembly) => Versions.GetOrAdd(assembly, static a =>
        a.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? a.GetName().Version?.ToString()
            ?? "unknown");
}
