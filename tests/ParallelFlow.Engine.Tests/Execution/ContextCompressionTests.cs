using System.Globalization;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary><c>context</c>: each strategy on known texts with their token counts, and a run whose dependent receives
/// (and is cached by) its dependency's output cut down.</summary>
public sealed class ContextCompressionTests
{
    private static readonly Func<string, int> Count = ContextSettings.ApproximateTokens;

    // 400 numbered lines: "line 000 of the log" … "line 399 of the log"; about 20 characters (5 tokens) each.
    private static readonly string Log = string.Join('\n', Enumerable.Range(0, 400).Select(i => string.Create(CultureInfo.InvariantCulture, $"line {i:000} of the log")));

    [Fact]
    public void Truncate_middle_keeps_the_beginning_and_the_end_within_the_limit_and_says_what_it_cut()
    {
        var cut = ContextCompressor.Compress(Log, new ContextSettings(200), Count);

        Assert.True(Count(cut) <= 200, $"{Count(cut)} tokens");
        Assert.StartsWith("line 000 of the log\nline 001", cut, StringComparison.Ordinal);
        Assert.EndsWith("line 398 of the log\nline 399 of the log", cut, StringComparison.Ordinal);
        var marker = System.Text.RegularExpressions.Regex.Match(cut, @"…\[(\d+) tokens cut\]…");
        Assert.True(marker.Success, cut);
        // What it says it cut is what is missing.
        var missing = Count(Log) - Count(cut.Replace(marker.Value, string.Empty, StringComparison.Ordinal).Replace("\n\n", "\n", StringComparison.Ordinal));
        Assert.InRange(int.Parse(marker.Groups[1].Value, CultureInfo.InvariantCulture), missing - 2, missing + 2);
    }

    [Fact]
    public void Head_tail_keeps_whole_lines_two_thirds_from_the_top_and_the_rest_from_the_bottom()
    {
        var cut = ContextCompressor.Compress(Log, new ContextSettings(150, ContextSettings.HeadTail), Count);

        Assert.True(Count(cut) <= 150, $"{Count(cut)} tokens");
        var lines = cut.Split('\n');
        Assert.All(lines.Where(l => l.Length > 0 && !l.StartsWith('…')), l => Assert.Matches(@"^line \d{3} of the log$", l));
        var head = lines.TakeWhile(l => !l.StartsWith('…')).Count(l => l.Length > 0);
        var tail = lines.Reverse().TakeWhile(l => !l.StartsWith('…')).Count(l => l.Length > 0);
        Assert.Equal("line 000 of the log", lines[0]);
        Assert.Equal("line 399 of the log", lines[^1]);
        Assert.InRange(head, tail + 1, 3 * tail);
        Assert.Contains($"…[{400 - head - tail} lines cut]…", cut, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_keeps_what_the_paths_select_and_the_pattern_matches()
    {
        var json = "{ \"summary\": \"two items failed\", \"items\": [" +
            string.Join(", ", Enumerable.Range(0, 200).Select(i => $"{{ \"title\": \"item {i}\", \"body\": \"{new string('x', 200)}\" }}")) + "] }";
        var byPath = ContextCompressor.Compress(json, new ContextSettings(2000, ContextSettings.Extract) { Paths = ["summary", "items[*].title", "$.items[1].title", "nothing.here"] }, Count);
        var text = "ok: build\nERROR: test a failed\nok: lint\nERROR: test b failed\n" + new string('.', 2000);
        var byPattern = ContextCompressor.Compress(text, new ContextSettings(100, ContextSettings.Extract) { Pattern = "ERROR: (.*)" }, Count);

        var lines = byPath.Split('\n');
        Assert.Equal("summary: two items failed", lines[0]);
        Assert.Equal("items[*].title: item 0", lines[1]);
        Assert.Equal("items[*].title: item 199", lines[200]);
        Assert.Equal("$.items[1].title: item 1", lines[201]);
        Assert.Equal(202, lines.Length);
        Assert.True(Count(byPath) <= 2000 && Count(json) > 10_000);
        Assert.Equal("test a failed\ntest b failed", byPattern);
    }

    [Fact]
    public void A_text_within_the_limit_passes_as_it_is()
    {
        foreach (var strategy in new[] { ContextSettings.TruncateMiddle, ContextSettings.HeadTail })
        {
            Assert.Same(Log, ContextCompressor.Compress(Log, new ContextSettings(Count(Log), strategy), Count));
        }
    }

    [Fact]
    public async Task A_dependent_receives_the_output_cut_down_is_cached_by_it_and_the_report_counts_the_tokens_saved()
    {
        var plan = PlanLoader.Parse($$$"""
            { "id": "context", "tasks": [
              { "id": "log", "worker": "simulate", "with": { "output": {{{System.Text.Json.JsonSerializer.Serialize(Log)}}} } },
              { "id": "short", "worker": "template", "with": { "text": "fine" } },
              { "id": "read", "worker": "template", "depends_on": ["log", "short"], "with": { "text": "{{log}} / {{short}}" },
                "context": { "max_tokens": 100, "strategy": "head_tail" } } ] }
            """, PlanFormat.Json);
        var cache = new MemoryCache();

        var result = await new ParallelFlowEngine().RunAsync(plan, new RunOptions { Cache = cache }).Within();

        var read = result["read"];
        var expected = ContextCompressor.Compress(Log, new ContextSettings(100, ContextSettings.HeadTail), Count);
        Assert.Equal($"{expected} / fine", read.Result!.Text);
        Assert.Equal((ContextSettings.HeadTail, 1, (long)Count(Log), (long)Count(expected)), (read.Context!.Strategy, read.Context.Compressed, read.Context.TokensBefore, read.Context.TokensAfter));
        Assert.True(read.Context.TokensSaved > 1500);
        // The cache key is made from what the task received.
        Assert.Equal(TaskCacheKey.HashOf(TaskResult.FromText(expected)), read.CacheKey!.Inputs["log"]);
        Assert.Equal(TaskCacheKey.HashOf(result["short"].Result), read.CacheKey.Inputs["short"]);
        Assert.Null(result["short"].Context);
    }

    [Fact]
    public async Task Summarize_asks_the_llm_worker_and_counts_what_it_cost()
    {
        var asked = new List<(string Model, string Prompt)>();
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("llm", new FakeModel(request =>
        {
            lock (asked)
            {
                asked.Add((request.GetString("model")!, request.GetString("prompt")!));
            }

            return new TaskResult { Text = "the log counts 400 lines", Usage = new TaskUsage(500, 7, 0.01m) };
        }));
        var plan = new PlanBuilder("summary")
            .AddTask("log", "simulate", t => t.With(new { output = Log }))
            .AddTask("read", "template", t => t.DependsOn("log").With(new { text = "{{log}}" }).Context(new ContextSettings(50, ContextSettings.Summarize) { Model = "small" }))
            .Build();

        var result = await new ParallelFlowEngine(new EngineOptions { Catalog = catalog }).RunAsync(plan).Within();

        Assert.Equal("the log counts 400 lines", result["read"].Result!.Text);
        var (model, prompt) = Assert.Single(asked);
        Assert.Equal("small", model);
        Assert.StartsWith("Summarize the following output of task 'log' in at most 50 tokens.", prompt, StringComparison.Ordinal);
        Assert.EndsWith("line 399 of the log", prompt, StringComparison.Ordinal);
        Assert.Equal(new TaskUsage(500, 7, 0.01m), result["read"].Context!.SummaryUsage);
    }

    [Theory]
    [InlineData("""{ "strategy": "head_tail" }""", "needs 'max_tokens'")]
    [InlineData("""{ "max_tokens": 0 }""", "max_tokens")]
    [InlineData("""{ "max_tokens": 10, "strategy": "shorten" }""", "strategy")]
    [InlineData("""{ "max_tokens": 10, "strategy": "extract" }""", "the extract strategy needs 'paths' or 'pattern'")]
    [InlineData("""{ "max_tokens": 10, "strategy": "extract", "pattern": "(" }""", "is not a regular expression")]
    [InlineData("""{ "max_tokens": 10, "strategy": "summarize" }""", "the summarize strategy needs 'model'")]
    [InlineData("""{ "max_tokens": 10, "model_name": "x" }""", "unknown key 'model_name'")]
    public void A_context_that_cannot_work_is_refused_with_where_and_why(string context, string expected)
    {
        var error = Assert.Throws<PlanValidationException>(() => PlanLoader.Parse(
            $$"""{ "tasks": [ { "id": "a", "worker": "template", "with": { "text": "x" }, "context": {{context}} } ] }""", PlanFormat.Json, "plan.json"));

        var first = error.Errors[0];
        Assert.Contains(expected, first.Message, StringComparison.Ordinal);
        Assert.Equal("a", first.TaskId);
        Assert.NotNull(first.Position);
    }

    private sealed class FakeModel(Func<TaskRequest, TaskResult> answer) : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) => ValueTask.FromResult(answer(request));
    }

    private sealed class MemoryCache : ITaskCache
    {
        private readonly Dictionary<string, TaskResult> _entries = [];

        public ValueTask<TaskResult?> FindAsync(TaskCacheKey key, TimeSpan? timeToLive, CancellationToken cancellationToken = default)
        {
            lock (_entries)
            {
                return ValueTask.FromResult(_entries.GetValueOrDefault(key.Hash));
            }
        }

        public ValueTask StoreAsync(TaskCacheKey key, TaskResult result, string runId, string taskId, CancellationToken cancellationToken = default)
        {
            lock (_entries)
            {
                _entries[key.Hash] = result;
            }

            return ValueTask.CompletedTask;
        }
    }
}
