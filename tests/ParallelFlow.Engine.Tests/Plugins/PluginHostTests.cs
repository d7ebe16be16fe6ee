using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Plugins;
using ParallelFlow.Engine.Workers;

namespace ParallelFlow.Engine.Tests.Plugins;

public sealed class PluginHostTests
{
    private static readonly string Fixtures = Path.Combine(RepositoryRoot.Path, "artifacts", "test-plugins");

    [Fact]
    public void PluginLoading_IsSupported_InAProgramThatCompilesCode_AndSwitchedOffForATrimmedOne()
    {
        // This process (JIT, not trimmed) loads plugins. A project that sets PublishTrimmed or PublishAot gets the
        // switch set to false by the package's targets, unless it keeps plugin loading; NativeAotTests runs such a host.
        Assert.True(PluginHost.IsLoadingSupported);
        var targets = System.Xml.Linq.XDocument.Load(Path.Combine(RepositoryRoot.Path, "engine", "ParallelFlow.Engine", "build", "ParallelFlow.Engine.targets"));
        var group = Assert.Single(targets.Root!.Elements("ItemGroup"));
        var condition = group.Attribute("Condition")!.Value;
        Assert.Contains("'$(PublishTrimmed)' == 'true'", condition, StringComparison.Ordinal);
        Assert.Contains("'$(PublishAot)' == 'true'", condition, StringComparison.Ordinal);
        Assert.Contains("'$(ParallelFlowKeepsPluginLoading)' != 'true'", condition, StringComparison.Ordinal);
        var option = Assert.Single(group.Elements("RuntimeHostConfigurationOption"));
        Assert.Equal(PluginHost.LoadingSwitch, option.Attribute("Include")!.Value);
        Assert.Equal("false", option.Attribute("Value")!.Value);
        Assert.Equal("true", option.Attribute("Trim")!.Value);
    }

    [Fact]
    public async Task TwoPlugins_WithTwoVersionsOfOneDependency_RunSideBySideInOneRun()
    {
        var (catalog, report) = Load("""
            { "plugins": [
              { "name": "twelve", "path": "JsonTwelvePlugin/JsonTwelvePlugin.dll", "settings": { "worker": "json12" } },
              { "name": "thirteen", "path": "JsonThirteenPlugin/JsonThirteenPlugin.dll", "settings": { "worker": "json13" } }
            ] }
            """);
        var plan = new PlanBuilder("side-by-side").AddTask("old", "json12").AddTask("new", "json13").Build();

        var result = await new ParallelFlowEngine(new EngineOptions { Catalog = catalog }).RunAsync(plan).Within();

        Assert.Empty(report.Errors);
        Assert.Equal(["twelve", "thirteen"], report.Plugins.Select(p => p.Name));
        Assert.Equal(["json12"], report.Plugins[0].Workers);
        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal("12.0.0.0 {\"task\":\"old\"}", result.Tasks[0].Result!.Text);
        Assert.Equal("13.0.0.0 {\"task\":\"new\"}", result.Tasks[1].Result!.Text);
    }

    [Fact]
    public void BadPlugins_AreReportedByName_AndLeftOut_WhileTheGoodOnesLoad()
    {
        var notAnAssembly = Path.Combine(Fixtures, "not-an-assembly.dll");
        File.WriteAllText(notAnAssembly, "plain text");
        var (catalog, report) = Load("""
            { "plugins": [
              { "name": "missing", "path": "Nowhere/Nowhere.dll" },
              { "name": "text-file", "path": "not-an-assembly.dll" },
              { "name": "not-a-plugin", "path": "JsonTwelvePlugin/Newtonsoft.Json.dll" },
              { "name": "future-sdk", "path": "WrongSdkPlugin/WrongSdkPlugin.dll" },
              { "name": "refuses", "path": "FaultingPlugin/FaultingPlugin.dll", "settings": { "mode": "register" } },
              { "name": "takes-simulate", "path": "JsonThirteenPlugin/JsonThirteenPlugin.dll", "settings": { "worker": "simulate" } },
              { "name": "first", "path": "JsonTwelvePlugin/JsonTwelvePlugin.dll", "settings": { "worker": "json" } },
              { "name": "second", "path": "JsonThirteenPlugin/JsonThirteenPlugin.dll", "settings": { "worker": "json" } },
              { "name": "switched-off", "path": "Nowhere/Nowhere.dll", "enabled": false }
            ] }
            """);

        Assert.Equal(["first"], report.Plugins.Select(p => p.Name));
        Assert.Equal(7, report.Errors.Count);
        var byPlugin = report.Errors.ToDictionary(e => e.Message.Split('\'')[1]);
        Assert.Equal("PF0102", byPlugin["missing"].Code);
        Assert.Contains("assembly not found at", byPlugin["missing"].Message, StringComparison.Ordinal);
        Assert.Contains("is not a .NET assembly", byPlugin["text-file"].Message, StringComparison.Ordinal);
        Assert.Contains("is not a ParallelFlow plugin: it does not reference ParallelFlow.Sdk", byPlugin["not-a-plugin"].Message, StringComparison.Ordinal);
        Assert.Equal(("PF0103", "plugin 'future-sdk': built against ParallelFlow.Sdk 2.x, but this host runs SDK 1.x; rebuild the plugin against SDK 1"),
            (byPlugin["future-sdk"].Code, byPlugin["future-sdk"].Message));
        Assert.Equal("plugin 'refuses': failed while loading or registering: InvalidOperationException: registration refused by design", byPlugin["refuses"].Message);
        Assert.Equal("plugin 'takes-simulate': registers the worker 'simulate', which the built-in workers already registered; rename one of them", byPlugin["takes-simulate"].Message);
        Assert.Equal("plugin 'second': registers the worker 'json', which plugin 'first' already registered; rename one of them", byPlugin["second"].Message);
        Assert.All(report.Errors, e => Assert.NotNull(e.Position));
        Assert.False(catalog.TryGetWorker("half-registered", out _), "nothing a failing plugin registered may be used");
        Assert.True(catalog.TryGetWorker("json", out _));
    }

    [Fact]
    public async Task APluginThatThrowsWhileRunning_FailsOnlyItsTask()
    {
        var (catalog, report) = Load("""{ "plugins": [ { "name": "faulty", "path": "FaultingPlugin/FaultingPlugin.dll", "settings": { "mode": "run" } } ] }""");
        var plan = new PlanBuilder("one-bad-task")
            .AddTask("boom", "explodes")
            .AddTask("fine", "simulate")
            .AddTask("after-boom", "simulate", t => t.DependsOn("boom"))
            .Build();

        var result = await new ParallelFlowEngine(new EngineOptions { Catalog = catalog }).RunAsync(plan).Within();

        Assert.Empty(report.Errors);
        Assert.Equal([TaskRunStatus.Failed, TaskRunStatus.Succeeded, TaskRunStatus.Skipped], result.Tasks.Select(t => t.Status));
        Assert.Equal("the exploding worker exploded on 'boom'", result.Tasks[0].Error);
    }

    [Fact]
    public async Task TheRepositorysPluginList_LoadsTheProcessWorker_AsBuilt()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        var report = PluginHost.LoadInto(catalog, Path.Combine(RepositoryRoot.Path, "plugins.json"));
        var plan = new PlanBuilder("built").AddTask("echo", "process", t => t.With(new { command = "echo", args = new[] { "loaded" } })).Build();

        var result = await new ParallelFlowEngine(new EngineOptions { Catalog = catalog }).RunAsync(plan).Within();

        Assert.Empty(report.Errors);
        Assert.Equal(["process"], report.Plugins.Single(p => p.Name == "process").Workers);
        Assert.Equal("loaded", result.Tasks[0].Result!.Text);
    }

    [Fact]
    public void ThePluginList_IsCheckedLikeAPlan()
    {
        var (_, report) = Load("""
            { "plugins": [
              { "name": "typo", "pth": "JsonTwelvePlugin/JsonTwelvePlugin.dll" },
              { "name": "bad-settings", "path": "JsonTwelvePlugin/JsonTwelvePlugin.dll", "settings": 3, "enabled": "yes" }
            ], "plugin": [] }
            """);

        var messages = report.Errors.Select(e => $"({e.Position}) {e.Message}").ToList();
        Assert.Contains("(2,21) unknown key 'pth'. Did you mean 'path'?", messages);
        Assert.Contains("(2,3) each plugin needs a 'name' and a 'path' (strings)", messages);
        Assert.Contains("(3,104) plugin 'bad-settings': enabled must be true or false", messages);
        Assert.Contains("(3,90) plugin 'bad-settings': settings must be an object", messages);
        Assert.Contains("(4,4) unknown key 'plugin'. Did you mean 'plugins'?", messages);
    }

    [Fact]
    public async Task APluginThatThrowsOnLoad_AfterAnotherLoaded_LeavesTheFirstUsable()
    {
        var (catalog, report) = Load("""
            { "plugins": [
              { "name": "first", "path": "JsonTwelvePlugin/JsonTwelvePlugin.dll", "settings": { "worker": "json" } },
              { "name": "refuses", "path": "FaultingPlugin/FaultingPlugin.dll", "settings": { "mode": "register" } }
            ] }
            """);
        var plan = new PlanBuilder("after-a-fault").AddTask("a", "json").Build();

        var result = await new ParallelFlowEngine(new EngineOptions { Catalog = catalog }).RunAsync(plan).Within();

        Assert.Equal(["first"], report.Plugins.Select(p => p.Name));
        Assert.Equal("plugin 'refuses': failed while loading or registering: InvalidOperationException: registration refused by design", Assert.Single(report.Errors).Message);
        Assert.Equal(TaskRunStatus.Succeeded, result["a"].Status);
        Assert.False(catalog.TryGetWorker("half-registered", out _));
    }

    private static (WorkerCatalog Catalog, PluginLoadReport Report) Load(string manifest)
    {
        var path = Path.Combine(Fixtures, $"plugins-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, manifest);
        var catalog = BuiltInWorkers.CreateCatalog();
        return (catalog, PluginHost.LoadInto(catalog, path));
    }
}
