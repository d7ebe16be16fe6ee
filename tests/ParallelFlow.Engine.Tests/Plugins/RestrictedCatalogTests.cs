using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Plugins;
using ParallelFlow.Plugins.Merging;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Plugins;

/// <summary>A catalog cut down to an allow-list (a service's remote plans): the workers left out cannot be named by a
/// task, nor reached through a section's own <c>worker</c>.</summary>
public sealed class RestrictedCatalogTests
{
    [Fact]
    public async Task Only_allowed_workers_can_be_named_even_by_a_section()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("danger", new Refuses());
        catalog.AddWorker("upper", new Upper());
        PluginHost.Register(catalog, new MergingPlugin());
        var restricted = BuiltInWorkers.Restricted(catalog, new HashSet<string>(StringComparer.Ordinal) { "section", "template", "upper" });
        var engine = new ParallelFlowEngine(new EngineOptions { Catalog = restricted });

        Assert.Equal(["section", "template", "upper"], restricted.WorkerNames);
        var direct = Assert.Throws<PlanValidationException>(() => PlanLoader.Parse("""{ "tasks": [ { "id": "t", "worker": "danger" } ] }""", PlanFormat.Json, "plan.json", restricted));
        Assert.Contains(direct.Errors, e => e.Code == "PF0008" && e.Message.Contains("'danger'", StringComparison.Ordinal));
        var nested = Assert.Throws<PlanValidationException>(() => PlanLoader.Parse(
            """{ "tasks": [ { "id": "s", "worker": "section", "with": { "sections": ["a"], "worker": "danger" } } ] }""", PlanFormat.Json, "plan.json", restricted));
        Assert.Contains(nested.Errors, e => e.Message.Contains("'danger'", StringComparison.Ordinal));

        // What is allowed runs, the section's own worker included, with the mergers of the catalog it was cut from.
        var plan = PlanLoader.Parse("""{ "tasks": [ { "id": "s", "worker": "section", "with": { "sections": ["a", "b"], "worker": "upper", "with": { "text": "{{section}}" } } } ] }""", PlanFormat.Json, "plan.json", restricted);
        var result = await engine.RunAsync(plan).Within();
        Assert.Equal("A\nB", result["s"].Result!.Text);
    }

    private sealed class Refuses : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a worker left out of the allow-list ran");
    }

    private sealed class Upper : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TaskResult.FromText(request.GetString("text")!.ToUpperInvariant()));
    }
}
