using System.Text.Json;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Sdk;

namespace ParallelFlow.Journal.Tests;

/// <summary>What every journal store must do alike: the same tests run on a SQLite file and on a PostgreSQL server.</summary>
public abstract class JournalContract
{
    /// <summary>Opens the journal under test: a new one for each test, the same one when called again in a test.</summary>
    protected abstract RunJournal OpenJournal(bool create = true);

    [Fact]
    public async Task A_run_round_trips_through_the_journal_and_resumes_from_it()
    {
        var engine = new ParallelFlowEngine();
        var plan = new PlanBuilder("journaled")
            .AddTask("a", "template", t => t.With(new { text = "alpha" }))
            .AddTask("b", "template", t => t.DependsOn("a").With(new { text = "{{a}} and beta" }))
            .AddTask("c", "simulate", t => t.DependsOn("b").With(new { seconds = 0, fail = "fatal" }))
            .Build();
        var compiled = engine.Compile(plan);

        using (var journal = OpenJournal())
        {
            journal.BeginRun("run-1", plan.Id, "plan.json", "hash", null, null, 2, DateTimeOffset.UtcNow);
            var result = await compiled.RunAsync(new RunOptions { RunId = "run-1", Journal = journal });
            journal.FinishRun(result);
        }

        using (var journal = OpenJournal(create: false))
        {
            var run = journal.Run("run-1")!;
            Assert.Equal(("journaled", "failed", 0), (run.PlanId, run.Status, run.Resumes));
            Assert.Equal(2, run.Counts["succeeded"]);
            Assert.Equal(1, run.Counts["failed"]);
            var tasks = journal.Tasks("run-1").ToDictionary(t => t.TaskId);
            Assert.Equal("alpha and beta", tasks["b"].Result!.Text);
            Assert.Equal((1, "failed"), (tasks["c"].Attempts, tasks["c"].Status));
            Assert.NotNull(tasks["c"].Error);

            // The finished run's own report is kept, with the command that resumes it among its next steps.
            var (report, complete) = journal.Report("run-1")!.Value;
            using (report)
            {
                Assert.True(complete);
                Assert.Equal(3, report.RootElement.GetProperty("results").GetArrayLength());
                var steps = report.RootElement.GetProperty("next_steps").EnumerateArray().Select(s => s.GetString()).ToList();
                Assert.Contains(steps, s => s!.Contains(journal.ResumeCommand("run-1"), StringComparison.Ordinal) && s.Contains("'c'", StringComparison.Ordinal));
            }

            // Resume: a and b keep their outputs and do not run; c runs again.
            var restored = journal.Succeeded("run-1");
            Assert.Equal(["a", "b"], restored.Keys.Order());
            journal.BeginRun("run-1", plan.Id, "plan.json", "hash", null, null, 2, run.StartedAt);
            var resumed = await compiled.RunAsync(new RunOptions { RunId = "run-1", Journal = journal, Restored = restored });
            journal.FinishRun(resumed);
            Assert.Equal((0, 0, 1), (resumed["a"].Attempts, resumed["b"].Attempts, resumed["c"].Attempts));
            Assert.Equal("alpha and beta", resumed["b"].Result!.Text);
            Assert.Equal(1, journal.Run("run-1")!.Resumes);
            Assert.Equal(1, journal.Tasks("run-1").Single(t => t.TaskId == "a").Attempts);
        }
    }

    [Fact]
    public async Task Outputs_keep_their_json_and_usage()
    {
        using var journal = OpenJournal();
        journal.BeginRun("r", "p", "plan.json", "h", null, null, null, DateTimeOffset.UtcNow);
        await journal.RecordAsync([new JournalEntry("r", "t", 1, DateTimeOffset.UtcNow, null)]);
        await journal.RecordAsync([new JournalEntry("r", "t", 1, DateTimeOffset.UtcNow, new TaskRunResult
        {
            TaskId = "t",
            WorkerType = "llm",
            Status = TaskRunStatus.Succeeded,
            Attempts = 1,
            Duration = TimeSpan.FromSeconds(2),
            Result = new TaskResult { Json = JsonDocument.Parse("""{"x":[1,2]}""").RootElement, Usage = new TaskUsage(10, 20, 0.5m) },
        })]);

        var result = journal.Succeeded("r")["t"];

        Assert.Equal("""{"x":[1,2]}""", result.Json!.Value.GetRawText());
        Assert.Equal(new TaskUsage(10, 20, 0.5m), result.Usage);
        Assert.Equal("running", journal.Run("r")!.Status);
    }

    [Fact]
    public async Task What_a_failed_task_wrote_is_kept_to_read_but_never_restored()
    {
        using var journal = OpenJournal();
        journal.BeginRun("r", "p", "plan.json", "h", null, null, null, DateTimeOffset.UtcNow);
        await journal.RecordAsync([new JournalEntry("r", "t", 1, DateTimeOffset.UtcNow, new TaskRunResult
        {
            TaskId = "t",
            WorkerType = "process",
            Status = TaskRunStatus.Failed,
            FailureKind = FailureKind.Fatal,
            Attempts = 1,
            PartialOutput = "1\n2\n[stderr]\nboom",
            Error = "'sh' exited with code 5: boom",
        })]);

        var task = Assert.Single(journal.Tasks("r"));
        Assert.Equal(("failed", "1\n2\n[stderr]\nboom", "'sh' exited with code 5: boom"), (task.Status, task.Result?.Text, task.Error));
        Assert.Empty(journal.Succeeded("r"));
    }

    [Fact]
    public async Task A_second_run_is_served_from_the_cache_and_the_miss_is_explained()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        var executions = 0;
        catalog.AddWorker("count", new CountingWorker(() => Interlocked.Increment(ref executions)));
        var engine = new ParallelFlowEngine(new EngineOptions { Catalog = catalog });
        using var journal = OpenJournal();

        async Task<RunResult> RunWith(string text)
        {
            var plan = new PlanBuilder("cached").AddTask("count", "count", t => t.With(new { text })).Build();
            var runId = RunIds.New(TimeProvider.System);
            journal.BeginRun(runId, plan.Id, "plan.json", "h", null, null, null, DateTimeOffset.UtcNow);
            var result = await engine.Compile(plan).RunAsync(new RunOptions { Cache = journal, Journal = journal, RunId = runId });
            journal.FinishRun(result);
            return result;
        }

        var first = await RunWith("one");
        var second = await RunWith("one");
        var changed = await RunWith("two");

        Assert.Equal([TaskRunStatus.Succeeded, TaskRunStatus.Cached, TaskRunStatus.Succeeded], new[] { first, second, changed }.Select(r => r["count"].Status));
        Assert.Equal(2, executions);
        Assert.StartsWith("count was a cache hit", journal.ExplainCache(second.RunId, "count")![0], StringComparison.Ordinal);
        Assert.Contains("  with.text: \"one\" then, \"two\" now", journal.ExplainCache(changed.RunId, "count")!);
        Assert.Equal(3, journal.Runs().Count);
    }

    [Fact]
    public async Task Learned_estimates_are_the_median_of_each_tasks_latest_executions_of_the_same_plan()
    {
        using var journal = OpenJournal();
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        async Task Run(string runId, string planId, int minute, params (string Task, string Status, int Attempts, double Seconds, long Tokens, decimal Cost)[] tasks)
        {
            journal.BeginRun(runId, planId, "plan.json", "h", null, null, null, start.AddMinutes(minute));
            await journal.RecordAsync([.. tasks.Select(t => new JournalEntry(runId, t.Task, t.Attempts, start, new TaskRunResult
            {
                TaskId = t.Task, WorkerType = "w", Status = t.Status == "cached" ? TaskRunStatus.Cached : t.Status == "failed" ? TaskRunStatus.Failed : TaskRunStatus.Succeeded,
                Attempts = t.Attempts, Duration = TimeSpan.FromSeconds(t.Seconds), FinishedAt = start,
                Result = t.Status == "failed" ? null : new TaskResult { Text = "x", Usage = new TaskUsage(t.Tokens, 0, t.Cost) },
            }))]);
        }

        // Seven runs of 'p': 'a' took 1..7 s (the last five, 3..7, give 5), with one 100 s outlier among the older ones.
        for (var i = 1; i <= 7; i++)
        {
            await Run($"p-{i}", "p", i, ("a", "succeeded", 1, i == 2 ? 100 : i, 10 * i, 0.01m * i));
        }

        // Not executions: a cached result, a restored one (no attempt), a failure; and another plan's run of 'a'.
        await Run("p-8", "p", 8, ("a", "cached", 1, 0.001, 0, 0), ("b", "succeeded", 0, 0, 0, 0), ("c", "failed", 1, 50, 0, 0));
        await Run("q-1", "q", 9, ("a", "succeeded", 1, 1000, 0, 0));

        var history = journal.History("p");

        Assert.Equal(["a"], history.Keys);
        var a = history["a"];
        Assert.Equal((5.0, 5, 50L, 0.05m), (a.Seconds, a.Samples, a.Tokens, a.Cost));
        Assert.False(a.FromWorkerType);
        // Without run 3, the five latest are 7, 6, 5, 4 and the 100 s outlier: the median stays 6.
        Assert.Equal(6.0, journal.History("p", exceptRun: "p-3")["a"].Seconds);
        Assert.Equal(1000.0, journal.History("q")["a"].Seconds);
        Assert.Null(journal.History("q")["a"].Tokens);
        Assert.Empty(journal.History("never-ran"));
    }

    [Fact]
    public async Task Many_runs_recorded_at_once_keep_every_attempt_in_order()
    {
        using var journal = OpenJournal();
        var at = DateTimeOffset.UtcNow;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async r =>
        {
            var runId = $"run-{r}";
            journal.BeginRun(runId, "p", "plan.json", "h", null, null, null, at);
            for (var t = 0; t < 20; t++)
            {
                // A batch as the group commit hands it over: an attempt, a retry, and the task's end.
                await journal.RecordAsync(
                [
                    new JournalEntry(runId, $"t{t}", 1, at, null),
                    new JournalEntry(runId, $"t{t}", 2, at.AddSeconds(1), null),
                    new JournalEntry(runId, $"t{t}", 2, at.AddSeconds(2), new TaskRunResult
                    {
                        TaskId = $"t{t}", WorkerType = "w", Status = TaskRunStatus.Succeeded, Attempts = 2, Duration = TimeSpan.FromSeconds(1),
                        FinishedAt = at.AddSeconds(2), Result = TaskResult.FromText($"{runId}/t{t}"),
                    }),
                ]);
            }
        }));

        Assert.Equal(8, journal.Runs().Count);
        var tasks = journal.Tasks("run-5");
        Assert.Equal(Enumerable.Range(0, 20).Select(t => $"t{t}"), tasks.Select(t => t.TaskId));
        Assert.All(tasks, t => Assert.Equal(("succeeded", 2, $"run-5/{t.TaskId}"), (t.Status, t.Attempts, t.Result!.Text)));
        var (report, complete) = journal.Report("run-5")!.Value;
        using (report)
        {
            Assert.False(complete);
            var log = report.RootElement.GetProperty("results")[3].GetProperty("attempt_log");
            Assert.Equal([1, 2], log.EnumerateArray().Select(a => a.GetProperty("attempt").GetInt32()));
        }
    }

    /// <summary>A deterministic worker that counts how often it really executes.</summary>
    private sealed class CountingWorker(Func<int> count) : ParallelFlowWorker
    {
        public override bool IsDeterministic => true;

        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TaskResult.FromText($"{request.GetString("text")} #{count()}"));
    }
}

/// <summary>The contract on a SQLite file.</summary>
public sealed class SqliteJournalContract : JournalContract, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("parallelflow-journal-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    protected override RunJournal OpenJournal(bool create = true) => RunJournal.Open(Path.Combine(_folder, "journal.db"), create);
}
