using System.Text.Json;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Plugins;

/// <summary>One plugin listed in plugins.json.</summary>
internal sealed record PluginEntry(string Name, string AssemblyPath, bool Enabled, JsonElement Settings, SourcePosition Position);
