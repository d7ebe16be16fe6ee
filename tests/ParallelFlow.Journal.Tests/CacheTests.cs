using System.Text.Json;
using Microsoft.Data.Sqlite;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Sdk;

namespace ParallelFlow.Journal.Tests;

public sealed class CacheTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("parallelflow-cache-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void A_key_is_the_same_in_every_process_and_ignores_key_order()
    {
        var key = Key("""{ "b": [1, {"y": 2, "x": 1}], "a": "text" }""");
        var reordered = Key("""{ "a": "text", "b": [1, {"x": 1, "y": 2}] }""");

        // Fixed across versions: a change here means every stored cache entry would silently miss.
        Assert.Equal(key.Hash, reordered.Hash);
        Assert.Equal("""{"a":"text","b":[1,{"x":1,"y":2}]}""", key.Parameters);
        Assert.Equal(KnownHash, Key("{}").Hash);
    }

    [Fact]
    public void What_the_journal_keeps_as_json_is_what_it_always_wrote()
    {
        // The journal now writes its JSON with generated code (no reflection, for a trimmed or natively compiled host).
        // Journals written before are read and compared the same way, so the text must not change.
        var key = new TaskCacheKey("w<&>", "v1 \u00fc", """{"a":"x+y"}""", "d 'quoted'", new Dictionary<string, string> { ["b"] = "h1", ["a"] = "h2" });
        var before = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["worker"] = key.Worker,
            ["version"] = key.WorkerVersion,
            ["with"] = key.Parameters,
            ["description"] = key.Description,
            ["inputs"] = key.Inputs,
        });
        Assert.Equal(before, RunJournal.Components(key));

        IReadOnlyDictionary<string, JsonElement> inputs = new Dictionary<string, JsonElement> { ["city"] = JsonSerializer.SerializeToElement("M\u00fcnchen <1>") };
        IReadOnlyList<string> only = ["b", "a"];
        Assert.Equal(JsonSerializer.Serialize(inputs), JsonSerializer.Serialize(inputs, JournalJson.Default.IReadOnlyDictionaryStringJsonElement));
        Assert.Equal(JsonSerializer.Serialize(only), JsonSerializer.Serialize(only, JournalJson.Default.IReadOnlyListString));
    }

    [Fact]
    public void A_key_changes_with_every_input()
    {
        var baseline = new TaskCacheKey("w", "v1", """{"a":1}""", "d", Inputs("x", "h1")).Hash;
        string[] variants =
        [
            new TaskCacheKey("other", "v1", """{"a":1}""", "d", Inputs("x", "h1")).Hash,
            new TaskCacheKey("w", "v2", """{"a":1}""", "d", Inputs("x", "h1")).Hash,
            new TaskCacheKey("w", "v1", """{"a":2}""", "d", Inputs("x", "h1")).Hash,
            new TaskCacheKey("w", "v1", """{"a":1}""", "e", Inputs("x", "h1")).Hash,
            new TaskCacheKey("w", "v1", """{"a":1}""", "d", Inputs("x", "h2")).Hash,
            new TaskCacheKey("w", "v1", """{"a":1}""", "d", Inputs("y", "h1")).Hash,
            new TaskCacheKey("w", "v1", """{"a":1}""", "d", new Dictionary<string, string>()).Hash,
        ];

        Assert.DoesNotContain(baseline, variants);
        Assert.Equal(variants.Length, variants.Distinct().Count());
    }

    [Fact]
    public async Task A_second_run_is_served_from_the_cache_and_a_changed_input_misses()
    {
        var counter = new CountingWorker();
        var engine = Engine(counter);
        using var journal = RunJournal.Open(Path.Combine(_folder, "journal.db"));

        var first = await Run(engine, journal, "one");
        var second = await Run(engine, journal, "one");
        var changed = await Run(engine, journal, "two");

        Assert.Equal(TaskRunStatus.Succeeded, first["count"].Status);
        Assert.Equal(TaskRunStatus.Cached, second["count"].Status);
        Assert.Equal(first["count"].Result!.Text, second["count"].Result!.Text);
        Assert.Equal(TaskRunStatus.Succeeded, changed["count"].Status);
        Assert.Equal(2, counter.Executions);
        var why = journal.ExplainCache(changed.RunId, "count")!;
        Assert.Contains("  with.text: \"one\" then, \"two\" now", why);
    }

    [Fact]
    public async Task A_plan_input_takes_part_in_the_key_and_is_recorded_with_the_run()
    {
        var counter = new CountingWorker();
        var engine = Engine(counter);
        using var journal = RunJournal.Open(Path.Combine(_folder, "journal.db"));
        var compiled = engine.Compile(new PlanBuilder("inputs")
            .Input(new PlanInput("topic", PlanInputType.String))
            .AddTask("count", "count", t => t.With(new { text = "on {{inputs.topic}}" }))
            .Build());

        async Task<RunResult> RunWith(string topic)
        {
            var runId = RunIds.New(TimeProvider.System);
            var inputs = new Dictionary<string, JsonElement> { ["topic"] = JsonSerializer.SerializeToElement(topic) };
            journal.BeginRun(runId, "inputs", "plan.json", "h", null, null, null, DateTimeOffset.UtcNow, inputs);
            return await compiled.RunAsync(new RunOptions { Cache = journal, Journal = journal, RunId = runId, Inputs = inputs });
        }

        var first = await RunWith("queues");
        var again = await RunWith("queues");
        var other = await RunWith("locks");

        Assert.Equal([TaskRunStatus.Succeeded, TaskRunStatus.Cached, TaskRunStatus.Succeeded], new[] { first, again, other }.Select(r => r["count"].Status));
        Assert.Equal("on locks #2", other["count"].Result!.Text);
        Assert.Contains("  with.text: \"on queues\" then, \"on locks\" now", journal.ExplainCache(other.RunId, "count")!);
        var recorded = journal.Runs().ToDictionary(r => r.RunId, r => r.Inputs["topic"].GetString());
        Assert.Equal(("queues", "locks"), (recorded[first.RunId], recorded[other.RunId]));
    }

    [Fact]
    public async Task A_template_that_fills_an_input_itself_misses_the_cache_when_only_the_input_changes()
    {
        var engine = Engine(new CountingWorker());
        using var journal = RunJournal.Open(Path.Combine(_folder, "journal.db"));
        var compiled = engine.Compile(new PlanBuilder("notes")
            .Input(new PlanInput("n", PlanInputType.Number))
            .AddTask("text", "template", t => t.With(new { text = "the top {{inputs.n}}" }))
            .Build());

        async Task<RunResult> RunWith(int n)
        {
            var runId = RunIds.New(TimeProvider.System);
            journal.BeginRun(runId, "notes", "plan.json", "h", null, null, null, DateTimeOffset.UtcNow);
            return await compiled.RunAsync(new RunOptions { Cache = journal, Journal = journal, RunId = runId, Inputs = new Dictionary<string, JsonElement> { ["n"] = JsonSerializer.SerializeToElement(n) } });
        }

        var five = await RunWith(5);
        var nine = await RunWith(9);
        var fiveAgain = await RunWith(5);

        Assert.Equal(("the top 5", "the top 9", "the top 5"), (five["text"].Output, nine["text"].Output, fiveAgain["text"].Output));
        Assert.Equal([TaskRunStatus.Succeeded, TaskRunStatus.Succeeded, TaskRunStatus.Cached], new[] { five, nine, fiveAgain }.Select(r => r["text"].Status));
    }

    [Fact]
    public async Task Identical_tasks_in_flight_at_once_execute_once()
    {
        var counter = new CountingWorker();
        var engine = Engine(counter);
        var builder = new PlanBuilder("twins").WithWorkers(8);
        for (var i = 0; i < 8; i++)
        {
            builder.AddTask($"twin-{i}", "count", t => t.With(new { text = "same" }));
        }

        using var journal = RunJournal.Open(Path.Combine(_folder, "journal.db"));
        // The first result is stored only once all eight have looked it up and missed, and the one leading has looked
        // again (9 lookups): all eight are in flight together.
        var cache = new StoreAfterLookups(journal, lookups: 9);
        var result = await engine.Compile(builder.Build()).RunAsync(new RunOptions { Cache = cache, Journal = journal, RunId = "twins" }).WaitAsync(TimeSpan.FromSeconds(30));

        // Each twin looked up, and the one that executed looked again once it led (a flight that had just ended would
        // have stored its result): 9, or 10 when the last twin's lookup missed a result stored just after it.
        Assert.InRange(cache.Lookups, 9, 10);
        Assert.Equal(1, counter.Executions);
        Assert.Equal(1, result.Count(TaskRunStatus.Succeeded));
        Assert.Equal(7, result.Count(TaskRunStatus.Cached));
        Assert.All(result.Tasks, t => Assert.Equal("same #1", t.Result!.Text));
    }

    [Fact]
    public async Task Cache_false_and_an_expired_entry_execute_again()
    {
        var counter = new CountingWorker();
        var engine = Engine(counter);
        using var journal = RunJournal.Open(Path.Combine(_folder, "journal.db"));
        var plan = new PlanBuilder("opt-out").AddTask("t", "count", t => t.With(new { text = "x" })).Build();
        await engine.Compile(plan).RunAsync(new RunOptions { Cache = journal });

        var expired = await engine.Compile(plan).RunAsync(new RunOptions { Cache = journal, CacheTimeToLive = TimeSpan.Zero });
        var fresh = await engine.Compile(plan).RunAsync(new RunOptions { Cache = journal, CacheTimeToLive = TimeSpan.FromHours(1) });
        var optOut = PlanLoader.Parse("""{ "tasks": [ { "id": "t", "worker": "count", "cache": false, "with": { "text": "x" } } ] }""", PlanFormat.Json, "plan.json", engine.Catalog);
        var refused = await engine.Compile(optOut).RunAsync(new RunOptions { Cache = journal });

        Assert.Equal((TaskRunStatus.Succeeded, TaskRunStatus.Cached, TaskRunStatus.Succeeded), (expired["t"].Status, fresh["t"].Status, refused["t"].Status));
        Assert.Equal(3, counter.Executions);
    }

    // SHA-256 of the canonical text, computed independently (Python hashlib) from the documented layout.
    private const string KnownHash = "747a14d2433891ac660c4dfc03b6f65f1d0037759f0e7ce2da221734df537b0a";

    private static TaskCacheKey Key(string with) =>
        new("w", "v1", TaskCacheKey.Canonical(JsonDocument.Parse(with).RootElement), "d", new Dictionary<string, string>());

    private static Dictionary<string, string> Inputs(string id, string hash) => new() { [id] = hash };

    private static ParallelFlowEngine Engine(CountingWorker counter)
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("count", counter);
        return new ParallelFlowEngine(new EngineOptions { Catalog = catalog });
    }

    private static Task<RunResult> Run(ParallelFlowEngine engine, RunJournal journal, string text)
    {
        var plan = new PlanBuilder("cached").AddTask("count", "count", t => t.With(new { text })).Build();
        var runId = RunIds.New(TimeProvider.System);
        journal.BeginRun(runId, plan.Id, "plan.json", "h", null, null, null, DateTimeOffset.UtcNow);
        return engine.Compile(plan).RunAsync(new RunOptions { Cache = journal, Journal = journal, RunId = runId });
    }

    /// <summary>A cache whose stores wait until it has been looked up a number of times.</summary>
    private sealed class StoreAfterLookups(ITaskCache inner, int lookups) : ITaskCache
    {
        private readonly TaskCompletionSource _looked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _lookups;

        public int Lookups => Volatile.Read(ref _lookups);

        public ValueTask<TaskResult?> FindAsync(TaskCacheKey key, TimeSpan? timeToLive, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _lookups) == lookups)
            {
                _looked.TrySetResult();
            }

            return inner.FindAsync(key, timeToLive, cancellationToken);
        }

        public async ValueTask StoreAsync(TaskCacheKey key, TaskResult result, string runId, string taskId, CancellationToken cancellationToken = default)
        {
            await _looked.Task.WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);
            await inner.StoreAsync(key, result, runId, taskId, cancellationToken);
        }
    }

    /// <summary>A deterministic worker that counts how often it really executes.</summary>
    private sealed class CountingWorker : ParallelFlowWorker
    {
        private int _executions;

        public int Executions => Volatile.Read(ref _executions);

        public override bool IsDeterministic => true;

        public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _executions);
            await Task.Yield();
            return TaskResult.FromText($"{request.GetString("text")} #{n}");
        }
    }
}
