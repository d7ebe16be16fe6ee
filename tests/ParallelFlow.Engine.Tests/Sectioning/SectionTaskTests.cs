using System.Text.Json;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Plugins;
using ParallelFlow.Engine.Workers;
using ParallelFlow.Plugins.Merging;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Sectioning;

/// <summary>The <c>section</c> task run by the engine, with real decomposers and mergers.</summary>
public sealed class SectionTaskTests
{
    [Fact]
    public async Task Static_sections_run_in_parallel_and_merge_in_their_order()
    {
        var (engine, _) = Engine();
        var plan = Parse("""
            { "tasks": [ { "id": "shout", "worker": "section", "with": {
                "sections": ["delta", "alpha", "charlie", "bravo", "echo", "foxtrot"],
                "worker": "upper", "with": { "text": "{{section}}", "jitter_ms": 20 },
                "parallelism": 4, "capacity": 4 } } ] }
            """, engine);

        var result = await engine.RunAsync(plan);

        Assert.Equal("DELTA\nALPHA\nCHARLIE\nBRAVO\nECHO\nFOXTROT", result["shout"].Result!.Text);
        var record = Record(result, "shout");
        Assert.Equal((6, 6, 0), (record.GetProperty("sections").GetInt32(), record.GetProperty("succeeded").GetInt32(), record.GetProperty("failed").GetInt32()));
        Assert.InRange(record.GetProperty("peak_in_flight").GetInt32(), 1, 4);

        // The record names its components, as the executors' format does: each section with its status and output.
        var sections = record.GetProperty("completed_sections").EnumerateArray().ToList();
        Assert.Equal(["delta", "alpha", "charlie", "bravo", "echo", "foxtrot"], sections.Select(s => s.GetProperty("name").GetString()));
        Assert.All(sections, s => Assert.Equal("succeeded", s.GetProperty("status").GetString()));
        Assert.All(sections, s => Assert.Equal(1, s.GetProperty("attempts").GetInt32()));
        Assert.Equal("CHARLIE", sections[2].GetProperty("output").GetString());
        Assert.Equal(result["shout"].Result!.Text, record.GetProperty("merged_output").GetString());
        Assert.Equal(0, record.GetProperty("conflicts_resolved").GetInt32());
    }

    [Fact]
    public async Task A_glob_decomposes_a_folder_into_its_matching_files()
    {
        using var folderScratch = new TempFolder("parallelflow-glob-");
        var folder = folderScratch.Path;
        Directory.CreateDirectory(Path.Combine(folder, "src", "deep"));
        File.WriteAllText(Path.Combine(folder, "src", "a.txt"), "a");
        File.WriteAllText(Path.Combine(folder, "src", "deep", "b.txt"), "b");
        File.WriteAllText(Path.Combine(folder, "src", "c.md"), "c");
        var (engine, _) = Engine();
        var plan = Parse($$$"""
            { "tasks": [ { "id": "files", "worker": "section", "with": {
                "decompose": { "glob": "src/**/*.txt", "root": "{{{folder}}}" },
                "worker": "upper", "with": { "text": "{{section_name}}" } } } ] }
            """, engine);

        var result = await engine.RunAsync(plan);

        Assert.Equal("SRC/A.TXT\nSRC/DEEP/B.TXT", result["files"].Result!.Text);
    }

    [Fact]
    public async Task A_json_array_and_a_dependency_output_are_decomposers_too()
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, """{ "items": [ "x", { "name": "why", "value": "y" }, 3 ] }""");
        var (engine, _) = Engine();
        var plan = Parse($$$"""
            { "tasks": [
              { "id": "list", "worker": "template", "with": { "text": "one\ntwo\n\nthree" } },
              { "id": "from-json", "worker": "section", "with": { "decompose": { "json": "{{{file}}}", "path": "items" }, "worker": "upper", "with": { "text": "{{section_name}}={{section}}" } } },
              { "id": "from-task", "worker": "section", "depends_on": ["list"], "with": { "decompose": { "from": "list" }, "worker": "upper", "with": { "text": "{{section_index}}:{{section}}" } } } ] }
            """, engine);

        var result = await engine.RunAsync(plan);

        Assert.Equal("X=X\nWHY=Y\nSECTION-3=3", result["from-json"].Result!.Text);
        Assert.Equal("0:ONE\n1:TWO\n2:THREE", result["from-task"].Result!.Text);
    }

    [Fact]
    public async Task An_empty_list_merges_to_nothing_and_succeeds()
    {
        var (engine, _) = Engine();
        var plan = Parse("""{ "tasks": [ { "id": "none", "worker": "section", "with": { "sections": [], "worker": "upper" } } ] }""", engine);

        var result = await engine.RunAsync(plan);

        Assert.Equal(TaskRunStatus.Succeeded, result["none"].Status);
        Assert.Equal(string.Empty, result["none"].Result!.Text);
        Assert.Equal(0, Record(result, "none").GetProperty("sections").GetInt32());
    }

    [Fact]
    public async Task A_decomposer_that_fails_fails_its_task_alone_with_the_reason()
    {
        var (engine, _) = Engine();
        var plan = Parse("""
            { "tasks": [
              { "id": "lines", "worker": "section", "with": { "decompose": { "lines": "/nonexistent/list.txt" }, "worker": "upper" } },
              { "id": "other", "worker": "template", "with": { "text": "fine" } } ] }
            """, engine);

        var result = await engine.RunAsync(plan);

        Assert.Equal(TaskRunStatus.Failed, result["lines"].Status);
        Assert.Equal("the decomposer failed after 0 section(s): the decomposer's file '/nonexistent/list.txt' does not exist", result["lines"].Error);
        Assert.Equal(TaskRunStatus.Succeeded, result["other"].Status);
    }

    [Fact]
    public async Task Failed_sections_fail_the_task_by_name_unless_failures_are_allowed()
    {
        var (engine, _) = Engine();
        var plan = Parse("""
            { "tasks": [
              { "id": "strict", "worker": "section", "with": { "sections": ["ok", "fail-1", "ok-2"], "worker": "upper", "with": { "text": "{{section}}" } } },
              { "id": "lenient", "worker": "section", "with": { "sections": ["ok", "fail-1", "ok-2"], "worker": "upper", "with": { "text": "{{section}}" }, "allow_failures": true } } ] }
            """, engine);

        var result = await engine.RunAsync(plan);

        Assert.Equal("1 of 3 sections failed: fail-1: asked to fail", result["strict"].Error);
        Assert.Equal("OK\nOK-2", result["lenient"].Result!.Text);
        var failure = Record(result, "lenient").GetProperty("failures")[0];
        Assert.Equal(("fail-1", "asked to fail"), (failure.GetProperty("name").GetString(), failure.GetProperty("error").GetString()));

        // The report's next steps name the section the merge went without.
        Assert.Contains(ParallelFlow.Engine.Reporting.RunReport.NextSteps(result),
            step => step.StartsWith("see why section(s) 'fail-1' of task 'lenient' did not succeed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Merge_conflicts_are_listed_for_manual_review()
    {
        var (engine, _) = Engine();
        var plan = Parse("""
            { "tasks": [ { "id": "config", "worker": "section", "with": {
                "sections": [ { "name": "a", "value": "{\"port\": 80}" }, { "name": "b", "value": "{\"port\": 443, \"tls\": true}" } ],
                "worker": "echo", "with": { "text": "{{section}}" }, "merger": "json" } } ] }
            """, engine);

        var result = await engine.RunAsync(plan);

        var record = Record(result, "config");
        Assert.Equal("$.port: a has 80, b has 443; kept a's until reviewed", record.GetProperty("manual_review_required")[0].GetString());
        Assert.Equal("""{"port":80,"tls":true}""", result["config"].Result!.Json!.Value.GetRawText());
    }

    [Fact]
    public async Task A_failing_validation_fails_the_task()
    {
        var (engine, _) = Engine();
        var plan = Parse("""
            { "tasks": [ { "id": "checked", "worker": "section", "with": {
                "sections": ["a", "b"], "worker": "upper", "with": { "text": "{{section}}" },
                "validate": { "worker": "upper", "with": { "text": "fail: merged output rejected" } } } } ] }
            """, engine);

        var result = await engine.RunAsync(plan);

        Assert.Equal("validation by 'upper' failed: asked to fail", result["checked"].Error);
    }

    [Fact]
    public async Task In_flight_sections_never_exceed_the_capacity_under_a_slow_merger()
    {
        var (engine, catalog) = Engine();
        var slow = new SlowMerger(TimeSpan.FromMilliseconds(1));
        catalog.AddMerger("slow", slow);
        var plan = Parse("""
            { "tasks": [ { "id": "many", "worker": "section", "with": {
                "decompose": { "count": 400 }, "worker": "upper", "with": { "text": "{{section}}" },
                "parallelism": 2, "capacity": 3, "merger": "slow" } } ] }
            """, engine);

        var result = await engine.RunAsync(plan);

        var record = Record(result, "many");
        Assert.Equal(400, record.GetProperty("succeeded").GetInt32());
        Assert.InRange(record.GetProperty("peak_in_flight").GetInt32(), 1, 3);
        Assert.Equal(Enumerable.Range(1, 400).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), slow.Seen);
    }

    [Fact]
    public async Task A_hundred_thousand_sections_stream_through_the_capacity()
    {
        var (engine, _) = Engine();
        var output = Path.Combine(Path.GetTempPath(), $"parallelflow-100k-{Guid.NewGuid():N}.txt");
        var plan = Parse($$$"""
            { "tasks": [ { "id": "many", "worker": "section", "with": {
                "decompose": { "count": 100000 }, "worker": "echo", "with": { "text": "{{section}}" },
                "parallelism": 2, "capacity": 16, "merger": "concat", "merging": { "output_file": "{{{output}}}" } } } ] }
            """, engine);

        var result = await engine.RunAsync(plan);

        var record = Record(result, "many");
        Assert.Equal(100_000, record.GetProperty("succeeded").GetInt32());
        Assert.InRange(record.GetProperty("peak_in_flight").GetInt32(), 1, 16);
        Assert.Equal(100_000, File.ReadLines(output).Count());
        Assert.Equal("100000", File.ReadLines(output).Last());
        File.Delete(output);
    }

    [Fact]
    public void Section_problems_are_found_with_the_plan()
    {
        var (engine, _) = Engine();
        var errors = Assert.Throws<PlanValidationException>(() => Parse("""
            { "tasks": [ { "id": "bad", "worker": "section", "with": {
                "decompose": { "glob": "*.cs", "rooot": "." },
                "worker": "uper",
                "merger": "jsn",
                "merging": { "policy": "maybe" } } } ] }
            """, engine)).Errors;

        Assert.Contains(errors, e => e.Message.Contains("unknown parameter 'rooot'. Did you mean 'root'?") && e.Position!.Value.Line == 2);
        Assert.Contains(errors, e => e.Message.Contains("unknown worker 'uper'. Did you mean 'upper'?") && e.Position!.Value.Line == 3);
        Assert.Contains(errors, e => e.Message.Contains("unknown merger 'jsn'. Did you mean 'json'?"));
    }

    private static (ParallelFlowEngine Engine, WorkerCatalog Catalog) Engine()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("upper", new UpperWorker());
        catalog.AddWorker("echo", new EchoWorker());
        PluginHost.Register(catalog, new MergingPlugin());
        return (new ParallelFlowEngine(new EngineOptions { Catalog = catalog }), catalog);
    }

    private static PlanDefinition Parse(string json, ParallelFlowEngine engine) => PlanLoader.Parse(json, PlanFormat.Json, "plan.json", engine.Catalog);

    private static JsonElement Record(RunResult result, string task) => result[task].Result!.Record!.Value;

    /// <summary>Upper-cases <c>text</c> after up to <c>jitter_ms</c>; fails when the text starts with "fail".</summary>
    private sealed class UpperWorker : ParallelFlowWorker
    {
        public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            var text = request.GetString("text") ?? string.Empty;
            if (text.StartsWith("fail", StringComparison.Ordinal))
            {
                throw new FatalTaskException("asked to fail");
            }

            if (request.GetDouble("jitter_ms") is { } jitter)
            {
                await Task.Delay(Random.Shared.Next((int)jitter), cancellationToken);
            }

            return TaskResult.FromText(text.ToUpperInvariant());
        }
    }

    private sealed class EchoWorker : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TaskResult.FromText(request.GetString("text") ?? string.Empty));
    }

    /// <summary>Takes its time over every section, so the decomposer must wait for it.</summary>
    private sealed class SlowMerger(TimeSpan delay) : ParallelFlowMerger
    {
        public List<string> Seen { get; } = [];

        public override ValueTask<MergeResult> MergeAsync(MergeRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public override async ValueTask<MergeResult> MergeStreamAsync(MergeRequest request, IAsyncEnumerable<SectionOutput> sections, CancellationToken cancellationToken)
        {
            await foreach (var section in sections.WithCancellation(cancellationToken))
            {
                await Task.Delay(delay, cancellationToken);
                Seen.Add(section.Name);
            }

            return new MergeResult(TaskResult.FromText($"{Seen.Count} merged"), []);
        }
    }
}
