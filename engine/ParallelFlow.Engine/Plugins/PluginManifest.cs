using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Plugins;

/// <summary>Reads plugins.json: <c>{ "plugins": [ { "name", "path", "enabled", "settings" } ] }</c>, with paths relative
/// to the file. Every problem is reported with its line and column; unknown keys are errors.</summary>
internal static class PluginManifest
{
    private static readonly string[] RootKeys = ["$schema", "plugins"];
    private static readonly string[] EntryKeys = ["name", "path", "enabled", "settings"];

    public static (List<PluginEntry> Entries, List<PlanError> Errors) Read(string manifestPath)
    {
        var entries = new List<PluginEntry>();
        var errors = new List<PlanError>();
        PlanNode root;
        try
        {
            root = JsonPlanReader.Read(File.ReadAllText(manifestPath), manifestPath);
        }
        catch (PlanValidationException ex)
        {
            return (entries, [.. ex.Errors]);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (entries, [new PlanError(PluginErrors.ManifestCode, $"cannot read the plugin list: {ex.Message}", manifestPath, null, null)]);
        }

        void Error(SourcePosition position, string message) => errors.Add(new PlanError(PluginErrors.ManifestCode, message, manifestPath, position, null));

        if (root is not ObjectNode obj)
        {
            Error(root.Position, "the plugin list must be an object with a 'plugins' list");
            return (entries, errors);
        }

        foreach (var property in obj.Properties.Where(p => Array.IndexOf(RootKeys, p.Key) < 0))
        {
            Error(property.KeyPosition, UnknownKey(property.Key, RootKeys));
        }

        if (obj.Find("plugins")?.Value is not ArrayNode list)
        {
            Error(obj.Position, "the plugin list needs a 'plugins' list");
            return (entries, errors);
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(manifestPath))!;
        foreach (var item in list.Items)
        {
            if (item is not ObjectNode entry)
            {
                Error(item.Position, "each plugin must be an object with 'name' and 'path'");
                continue;
            }

            foreach (var property in entry.Properties.Where(p => Array.IndexOf(EntryKeys, p.Key) < 0))
            {
                Error(property.KeyPosition, UnknownKey(property.Key, EntryKeys));
            }

            var name = entry.Find("name")?.Value as ScalarNode;
            var path = entry.Find("path")?.Value as ScalarNode;
            var enabled = entry.Find("enabled")?.Value as ScalarNode;
            var settings = entry.Find("settings")?.Value;
            if (name is not { Kind: ScalarKind.String } || path is not { Kind: ScalarKind.String })
            {
                Error(entry.Position, "each plugin needs a 'name' and a 'path' (strings)");
                continue;
            }

            if (enabled is not null && enabled.Kind != ScalarKind.Boolean)
            {
                Error(enabled.Position, $"plugin '{name.Text}': enabled must be true or false");
            }

            if (settings is not null and not ObjectNode)
            {
                Error(settings.Position, $"plugin '{name.Text}': settings must be an object");
            }

            entries.Add(new PluginEntry(
                name.Text,
                Path.GetFullPath(Path.Combine(directory, path.Text)),
                enabled is not { Kind: ScalarKind.Boolean, Text: "false" },
                settings is ObjectNode ? settings.ToJsonElement() : TaskDefinition.EmptyParameters,
                entry.Position));
        }

        foreach (var duplicate in entries.GroupBy(e => e.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            Error(duplicate.Last().Position, $"plugin name '{duplicate.Key}' is listed twice");
        }

        return (entries, errors);
    }

    private static string UnknownKey(string key, string[] known) =>
        Sdk.Suggestions.Closest(key, known) is { } suggestion
            ? $"unknown key '{key}'. Did you mean '{suggestion}'?"
            : $"unknown key '{key}'. Known keys: {string.Join(", ", known.Where(k => k != "$schema"))}";
}
