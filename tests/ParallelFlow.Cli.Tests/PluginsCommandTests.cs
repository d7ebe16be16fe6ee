namespace ParallelFlow.Cli.Tests;

public sealed class PluginsCommandTests
{
    private static readonly string Plugins = Path.Combine(CliProcess.RepositoryRoot, "artifacts", "test-plugins");

    [Fact]
    public async Task Plugins_ListsWhatLoaded_WithVersionsAndWorkers()
    {
        var manifest = Manifest("""
            { "plugins": [
              { "name": "twelve", "path": "JsonTwelvePlugin/JsonTwelvePlugin.dll", "settings": { "worker": "json12" } },
              { "name": "faulty", "path": "FaultingPlugin/FaultingPlugin.dll" }
            ] }
            """);

        var (exitCode, output, error) = await CliProcess.RunAsync("plugins", "--plugins", manifest);

        Assert.True(exitCode == 0, error);
        Assert.Contains("built-in: workers section, simulate, template, vote", output, StringComparison.Ordinal);
        Assert.Contains("twelve 0.1.0", output, StringComparison.Ordinal);
        Assert.Contains(": workers json12 (", output, StringComparison.Ordinal);
        Assert.Contains("faulty 0.1.0", output, StringComparison.Ordinal);
        Assert.Contains(": workers explodes (", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plugins_WithTheRepositorysList_ListsStrategiesBuiltInAndFromThePlugin()
    {
        var (exitCode, output, error) = await CliProcess.RunAsync("plugins");

        Assert.True(exitCode == 0, error);
        Assert.Contains("; strategies critical_path, priority, fifo, shortest_first", output, StringComparison.Ordinal);
        Assert.Contains("workers greet; scorers shortest; mergers key-values; strategies fan_out_first (", output, StringComparison.Ordinal);
        // The merger a synthesis vote uses by default comes with the merging plugin, not with the documentation sample.
        Assert.Contains("mergers concat, lines, json", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_APlanOnPluginWorkers_UsesEachPluginsOwnDependencies()
    {
        var manifest = Manifest("""
            { "plugins": [
              { "name": "twelve", "path": "JsonTwelvePlugin/JsonTwelvePlugin.dll", "settings": { "worker": "json12" } },
              { "name": "thirteen", "path": "JsonThirteenPlugin/JsonThirteenPlugin.dll", "settings": { "worker": "json13" } }
            ] }
            """);
        var plan = Path.Combine(Plugins, $"plan-{Guid.NewGuid():N}.json");
        File.WriteAllText(plan, """{ "id": "plugins", "tasks": [ { "id": "old", "worker": "json12" }, { "id": "new", "worker": "json13" } ] }""");

        var (exitCode, output, error) = await CliProcess.RunAsync("run", plan, "--plugins", manifest);

        Assert.True(exitCode == 0, error + output);
        Assert.Contains("12.0.0.0 {\"task\":\"old\"}", output, StringComparison.Ordinal);
        Assert.Contains("13.0.0.0 {\"task\":\"new\"}", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABadPlugin_IsNamedInTheError_AndTheRestStillWorks()
    {
        var manifest = Manifest("""
            { "plugins": [
              { "name": "refuses", "path": "FaultingPlugin/FaultingPlugin.dll", "settings": { "mode": "register" } },
              { "name": "missing", "path": "Nowhere/Nowhere.dll" }
            ] }
            """);

        var (exitCode, output, error) = await CliProcess.RunAsync("plugins", "--plugins", manifest);
        var (runExit, _, _) = await CliProcess.RunAsync("run", "examples/data-pipeline.yaml", "--plugins", manifest, "--quiet");

        Assert.Equal(2, exitCode);
        Assert.Contains("error PF0104: plugin 'refuses': failed while loading or registering: InvalidOperationException: registration refused by design", error, StringComparison.Ordinal);
        Assert.Contains("error PF0102: plugin 'missing': assembly not found at", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error + output, StringComparison.Ordinal);
        Assert.Equal(0, runExit);
    }

    private static string Manifest(string text)
    {
        var path = Path.Combine(Plugins, $"plugins-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, text);
        return path;
    }
}
