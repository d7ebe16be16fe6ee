using ParallelFlow.Engine;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Plugins;
using ParallelFlow.Engine.Workers;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Sample.Tests;

/// <summary>The sample plugin that docs/writing-plugins.md walks through, loaded the way a user loads it: from the
/// repository's plugins.json, built by dotnet build.</summary>
public sealed class SamplePluginTests
{
    private static readonly WorkerCatalog Catalog = LoadRepositoryPlugins();

    [Fact]
    public async Task TheGreetWorker_UsesItsSettingAndItsDependencies()
    {
        var plan = new PlanBuilder("greet")
            .AddTask("fact", "simulate", t => t.With(new { output = "plugins load in isolation" }))
            .AddTask("hello", "greet", t => t.DependsOn("fact").With(new { name = "reader" }))
            .Build();

        var result = await new ParallelFlowEngine(new EngineOptions { Catalog = Catalog }).RunAsync(plan).Within();

        Assert.Equal("Hello, reader!\nplugins load in isolation", result.Tasks[1].Result!.Text);
    }

    [Fact]
    public async Task TheKeyValueMerger_KeepsTheFirstValue_AndReportsTheConflict_OrLetsTheLastWin()
    {
        Assert.True(Catalog.TryGetMerger("key-values", out var merger));
        Section[] sections = [new("a", "x=1\ny=2"), new("b", "y=3\nz=4")];
        var request = new MergeRequest { TaskId = "t", Sections = [.. sections.Select(s => new SectionOutput(s.Name, TaskResult.FromText(s.Text)))] };

        var first = await merger.MergeAsync(request, CancellationToken.None);
        var last = await merger.MergeAsync(new MergeRequest { TaskId = "t", Sections = request.Sections, With = System.Text.Json.JsonDocument.Parse("""{ "last_wins": true }""").RootElement }, CancellationToken.None);

        Assert.Equal("x=1\ny=2\nz=4", first.Output.Text);
        Assert.Equal("b: y", Assert.Single(first.Conflicts).Location);
        Assert.False(first.Conflicts[0].Resolved);
        Assert.Equal("x=1\ny=3\nz=4", last.Output.Text);
        Assert.True(Assert.Single(last.Conflicts).Resolved);
        Assert.Equal("unknown parameter 'last_win'. Did you mean 'last_wins'?", Assert.Single(merger.ValidateParameters(System.Text.Json.JsonDocument.Parse("""{ "last_win": true }""").RootElement)).Message);
    }

    private sealed record Section(string Name, string Text);

    [Fact]
    public async Task TheShortestScorer_PrefersTheShortestAnswer_AndSaysWhy()
    {
        Assert.True(Catalog.TryGetScorer("shortest", out var scorer));
        var card = await scorer.ScoreAsync(new ScoringRequest
        {
            TaskId = "vote",
            Candidates = [new("long", TaskResult.FromText("a rather long answer"), TimeSpan.Zero), new("short", TaskResult.FromText("brief"), TimeSpan.Zero)],
        }, CancellationToken.None);

        Assert.Equal(1, card.Scores["short"].Total);
        Assert.True(card.Scores["long"].Total < 0.5);
        Assert.Equal("'short' gave the shortest answer (5 characters)", card.Rationale);
    }

    private static WorkerCatalog LoadRepositoryPlugins()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        var report = PluginHost.LoadInto(catalog, Path.Combine(RepositoryRoot.Path, "plugins.json"));
        Assert.Empty(report.Errors);
        return catalog;
    }
}
