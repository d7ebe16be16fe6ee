namespace ParallelFlow.Cli.Commands;

/// <summary>
/// One rule for where every command finds <c>plugins.json</c> and the run journal (<c>.parallelflow/journal.db</c>)
/// when no option names them: beside the plan (for the commands that take one), then the current folder, then
/// <c>$PARALLELFLOW_HOME</c>. The first that exists is used.
/// </summary>
internal static class FileLookup
{
    /// <summary>The variable naming a folder searched last: a home for plugins.json and the journal shared by every project.</summary>
    public const string HomeVariable = "PARALLELFLOW_HOME";

    public const string Plugins = "plugins.json";

    public static readonly string Journal = Path.Combine(".parallelflow", "journal.db");

    /// <summary>The folders searched, in order, each once.</summary>
    public static IReadOnlyList<string> Folders(string? planPath) => Folders(planPath, Environment.GetEnvironmentVariable(HomeVariable));

    /// <summary>The folders searched with <paramref name="home"/> as <c>$PARALLELFLOW_HOME</c>.</summary>
    internal static IReadOnlyList<string> Folders(string? planPath, string? home)
    {
        var folders = new List<string>();
        if (planPath is not null)
        {
            folders.Add(Path.GetDirectoryName(Path.GetFullPath(planPath))!);
        }

        folders.Add(Directory.GetCurrentDirectory());
        if (home is { Length: > 0 })
        {
            folders.Add(Path.GetFullPath(home));
        }

        return [.. folders.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The first existing file at <paramref name="relative"/> in the folders searched, or null.</summary>
    public static string? Find(string relative, string? planPath) => Find(relative, Folders(planPath));

    internal static string? Find(string relative, IReadOnlyList<string> folders) =>
        folders.Select(folder => Path.Combine(folder, relative)).FirstOrDefault(File.Exists);

    /// <summary>Where a file was looked for, for a message.</summary>
    public static string Places(string relative, string? planPath) =>
        string.Join(", ", Folders(planPath).Select(folder => Path.Combine(folder, relative)));
}
