using System.Diagnostics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Plugins;
using ParallelFlow.Plugins.Voting;
using ParallelFlow.Sdk;

// Spans and metrics are process-wide: the tests of this assembly take turns.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace ParallelFlow.OpenTelemetry.Tests;

/// <summary>The spans and metrics a run makes, collected through <c>AddParallelFlowInstrumentation()</c> with
/// OpenTelemetry's in-memory exporters: the span tree and its attributes for every status, the GenAI conventions of a
/// model call, a vote's decision, the metrics' values, and no secret anywhere.</summary>
public sealed class InstrumentationTests
{
    private const string SecretVariable = "PF_OTEL_TEST_KEY";
    private const string SecretValue = "sk-otel-4f8a9c2e71d0";

    private const string Plan = """
        { "id": "traced",
          "retry": { "max_attempts": 2, "initial_delay": 0.001, "backoff_multiplier": 1 },
          "tasks": [
            { "id": "ok", "worker": "echo" },
            { "id": "flaky", "worker": "flaky" },
            { "id": "broken", "worker": "broken", "retry": { "max_attempts": 1 } },
            { "id": "after-broken", "worker": "echo", "depends_on": ["broken"] },
            { "id": "ask", "worker": "llm", "with": { "model": "tiny", "prompt": "the answer" } },
            { "id": "ask-default", "worker": "llm", "with": { "prompt": "the answer" } },
            { "id": "pick", "worker": "vote", "with": { "scorer": "consensus", "candidates": [
                { "name": "a", "worker": "llm", "with": { "model": "tiny" } },
                { "name": "b", "worker": "llm", "with": { "model": "small" } } ] } },
            { "id": "leaky", "worker": "leaky", "retry": { "max_attempts": 1 } },
            { "id": "stuck", "worker": "stuck", "timeout_seconds": 0.05, "retry": { "max_attempts": 1 } },
            { "id": "probe", "worker": "probe", "depends_on": ["ok"] }
          ] }
        """;

    [Fact]
    public async Task A_run_is_one_trace_run_then_tasks_then_attempts_with_statuses_retries_GenAI_and_the_vote()
    {
        var spans = new List<Activity>();
        using var tracing = global::OpenTelemetry.Sdk.CreateTracerProviderBuilder().AddParallelFlowInstrumentation().AddInMemoryExporter(spans).Build();

        var before = Activity.Current;
        var result = await RunAsync();
        tracing.ForceFlush();

        // The run's spans never became the caller's current activity.
        Assert.Same(before, Activity.Current);

        var run = Assert.Single(spans, s => s.OperationName == "parallelflow.run" && Tag(s, "parallelflow.run.id") == result.RunId);
        Assert.Equal("traced", Tag(run, "parallelflow.plan.id"));
        Assert.Equal("critical_path", Tag(run, "parallelflow.strategy"));
        Assert.Equal(result.Workers, run.GetTagItem("parallelflow.workers"));
        Assert.Equal("failed", Tag(run, "parallelflow.status"));
        Assert.Equal(ActivityStatusCode.Error, run.Status);
        var mine = spans.Where(s => s.TraceId == run.TraceId).ToList();

        // One task span per task, each a child of the run's; a skipped task's says why it never ran, and has no attempt.
        var tasks = mine.Where(s => s.OperationName == "parallelflow.task").ToDictionary(s => Tag(s, "parallelflow.task.id")!);
        Assert.Equal(["after-broken", "ask", "ask-default", "broken", "flaky", "leaky", "ok", "pick", "probe", "stuck"], tasks.Keys.Order(StringComparer.Ordinal));
        Assert.All(tasks.Values, t => Assert.Equal(run.SpanId, t.ParentSpanId));
        Assert.Equal(("skipped", "dependency"), (Tag(tasks["after-broken"], "parallelflow.task.status"), Tag(tasks["after-broken"], "parallelflow.task.failure_kind")));
        Assert.Equal(0, tasks["after-broken"].GetTagItem("parallelflow.task.attempts"));
        Assert.Contains("broken", tasks["after-broken"].StatusDescription, StringComparison.Ordinal);
        Assert.DoesNotContain(mine, s => s.ParentSpanId == tasks["after-broken"].SpanId);
        foreach (var task in result.Tasks.Where(t => t.Attempts > 0))
        {
            var span = tasks[task.TaskId];
            Assert.Equal(task.Status.ToString() switch { "TimedOut" => "timed_out", var s => s.ToLowerInvariant() }, Tag(span, "parallelflow.task.status"));
            Assert.Equal(task.Attempts, span.GetTagItem("parallelflow.task.attempts"));
            Assert.Equal(task.WorkerType, Tag(span, "parallelflow.worker"));
            Assert.Equal(false, span.GetTagItem("parallelflow.task.cached"));
        }

        Assert.Equal("fatal", Tag(tasks["broken"], "parallelflow.task.failure_kind"));
        Assert.Equal(ActivityStatusCode.Error, tasks["broken"].Status);
        Assert.Null(tasks["ok"].GetTagItem("parallelflow.task.failure_kind"));

        // Attempts are children of their task's span; the retried one has two, and the retry is an event.
        var attempts = mine.Where(s => s.ParentSpanId != run.SpanId && tasks.Values.Any(t => t.SpanId == s.ParentSpanId)).ToList();
        var flaky = attempts.Where(a => a.ParentSpanId == tasks["flaky"].SpanId).OrderBy(a => a.StartTimeUtc).ToList();
        Assert.Equal(2, flaky.Count);
        Assert.Equal("failed", Tag(flaky[0], "parallelflow.attempt.status"));
        Assert.Equal("transient", Tag(flaky[0], "parallelflow.task.failure_kind"));
        Assert.Equal("succeeded", Tag(flaky[1], "parallelflow.attempt.status"));
        var retry = Assert.Single(tasks["flaky"].Events, e => e.Name == "retry");
        Assert.Equal(2, retry.Tags.Single(t => t.Key == "parallelflow.attempt").Value);

        // A timed-out attempt says so, as its task does.
        var stuck = Assert.Single(attempts, a => a.ParentSpanId == tasks["stuck"].SpanId);
        Assert.Equal(("timed_out", "timeout"), (Tag(stuck, "parallelflow.attempt.status"), Tag(stuck, "parallelflow.task.failure_kind")));
        Assert.Equal(("timed_out", "timeout"), (Tag(tasks["stuck"], "parallelflow.task.status"), Tag(tasks["stuck"], "parallelflow.task.failure_kind")));

        // A model call follows the GenAI conventions: named for its operation and model, a client span, with usage.
        var ask = Assert.Single(attempts, a => a.ParentSpanId == tasks["ask"].SpanId);
        Assert.Equal("chat tiny", ask.DisplayName);
        Assert.Equal(ActivityKind.Client, ask.Kind);
        Assert.Equal("chat", Tag(ask, "gen_ai.operation.name"));
        Assert.Equal("tiny", Tag(ask, "gen_ai.request.model"));
        Assert.Equal("tiny-v1", Tag(ask, "gen_ai.response.model"));
        Assert.Equal(12L, ask.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(3L, ask.GetTagItem("gen_ai.usage.output_tokens"));

        // A model call that names no model is named after the one that answered.
        var askDefault = Assert.Single(attempts, a => a.ParentSpanId == tasks["ask-default"].SpanId);
        Assert.Equal("chat house-v1", askDefault.DisplayName);
        Assert.Equal("house-v1", Tag(askDefault, "gen_ai.response.model"));

        // A vote's candidates are model calls under the vote's attempt, and the vote's span carries the decision.
        var pick = tasks["pick"];
        Assert.Equal(result["pick"].Result!.Record!.Value.GetProperty("winner").GetString(), Tag(pick, "parallelflow.vote.winner"));
        Assert.Equal("consensus", Tag(pick, "parallelflow.vote.scorer"));
        Assert.Equal(2, pick.GetTagItem("parallelflow.vote.candidates"));
        Assert.Equal(2L, pick.GetTagItem("parallelflow.vote.succeeded"));
        Assert.False(string.IsNullOrEmpty(Tag(pick, "parallelflow.vote.rationale")));
        var voteAttempt = Assert.Single(attempts, a => a.ParentSpanId == pick.SpanId);
        var candidates = mine.Where(s => s.ParentSpanId == voteAttempt.SpanId).Select(s => s.DisplayName).Order(StringComparer.Ordinal);
        Assert.Equal(["chat small", "chat tiny"], candidates);

        // No secret in any span: names, attributes, status descriptions, events.
        foreach (var span in mine)
        {
            var text = string.Join('\n', [span.DisplayName, span.StatusDescription ?? string.Empty,
                .. span.TagObjects.Select(t => $"{t.Key}={t.Value}"),
                .. span.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name}:{t.Key}={t.Value}"))]);
            Assert.DoesNotContain(SecretValue, text, StringComparison.Ordinal);
        }

        Assert.Contains("***", tasks["leaky"].StatusDescription, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_metrics_count_what_the_run_did()
    {
        // Snapshots, each export's own: the sums are cumulative, so the last export of a metric holds its totals.
        var metrics = new List<MetricSnapshot>();
        using var meters = global::OpenTelemetry.Sdk.CreateMeterProviderBuilder().AddParallelFlowInstrumentation().AddInMemoryExporter(metrics).Build();

        // While a task runs, the gauges see it and its run.
        (long Running, long Active)? during = null;
        var result = await RunAsync(() =>
        {
            meters.ForceFlush();
            during = (Points(metrics, "parallelflow.tasks.running").Last().GetSumLong(), Points(metrics, "parallelflow.runs.active").Last().GetSumLong());
        });
        meters.ForceFlush();
        Assert.NotNull(during);
        Assert.True(during.Value.Running >= 1, $"running {during.Value.Running} while a task ran");
        Assert.True(during.Value.Active >= 1, $"active runs {during.Value.Active} while one ran");

        var finished = Points(metrics, "parallelflow.tasks.finished");
        foreach (var group in result.Tasks.GroupBy(t => (t.WorkerType, Status: Name(t.Status))))
        {
            Assert.Equal(group.Count(), finished.Where(p => Tag(p, "parallelflow.worker") == group.Key.WorkerType && Tag(p, "parallelflow.task.status") == group.Key.Status).Sum(p => p.GetSumLong()));
        }

        Assert.Equal(result.Tasks.Count, finished.Sum(p => p.GetSumLong()));
        var ran = result.Tasks.Count(t => t.Attempts > 0);
        Assert.Equal(ran, Points(metrics, "parallelflow.task.duration").Sum(p => p.GetHistogramCount()));
        Assert.Equal(ran, Points(metrics, "parallelflow.task.queue_wait").Sum(p => p.GetHistogramCount()));

        var tokens = Points(metrics, "parallelflow.tokens.used");
        var used = result.Tasks.Where(t => t.Status == TaskRunStatus.Succeeded).Sum(t => t.Result!.Usage.InputTokens);
        Assert.True(used > 0);
        Assert.Equal(used, tokens.Where(p => Tag(p, "gen_ai.token.type") == "input").Sum(p => p.GetSumLong()));

        // Nothing runs now: the gauges read zero.
        Assert.Equal(0, Points(metrics, "parallelflow.tasks.running").Last().GetSumLong());
        Assert.Equal(0, Points(metrics, "parallelflow.tasks.ready").Last().GetSumLong());
        Assert.Equal(0, Points(metrics, "parallelflow.runs.active").Last().GetSumLong());
    }

    private static async Task<RunResult> RunAsync(Action? whileRunning = null)
    {
        Environment.SetEnvironmentVariable(SecretVariable, SecretValue);
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("echo", new Echo());
        catalog.AddWorker("flaky", new Flaky());
        catalog.AddWorker("broken", new Broken());
        catalog.AddWorker("llm", new FakeModel());
        catalog.AddWorker("leaky", new Leaky());
        catalog.AddWorker("stuck", new Stuck());
        catalog.AddWorker("probe", new Probe(whileRunning));
        catalog.AddSecretVariable(SecretVariable);
        PluginHost.Register(catalog, new VotingPlugin());
        var engine = new ParallelFlowEngine(new EngineOptions { Catalog = catalog });
        var plan = PlanLoader.Parse(Plan, PlanFormat.Json, "traced.json", catalog);
        return await engine.RunAsync(plan).Within();
    }

    private static string Name(TaskRunStatus status) => status == TaskRunStatus.TimedOut ? "timed_out" : status.ToString().ToLowerInvariant();

    private static string? Tag(Activity span, string name) => span.GetTagItem(name)?.ToString();

    private static List<MetricPoint> Points(List<MetricSnapshot> metrics, string name)
    {
        var points = metrics.LastOrDefault(m => m.Name == name)?.MetricPoints.ToList() ?? [];
        Assert.True(points.Count > 0, $"no points for {name}");
        return points;
    }

    private static string? Tag(MetricPoint point, string name)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == name)
            {
                return tag.Value?.ToString();
            }
        }

        return null;
    }

    private sealed class Echo : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TaskResult.FromText(request.TaskId));
    }

    private sealed class Flaky : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            request.Attempt == 1 ? throw new TransientTaskException("the first attempt fails") : ValueTask.FromResult(TaskResult.FromText("second time lucky"));
    }

    private sealed class Broken : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            throw new FatalTaskException("broken for good");
    }

    /// <summary>Fails with the secret's value in its message, as a careless worker might.</summary>
    private sealed class Leaky : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            throw new FatalTaskException($"the endpoint refused key {Environment.GetEnvironmentVariable(SecretVariable)}");
    }

    /// <summary>Never returns by itself: its timeout ends it.</summary>
    private sealed class Stuck : ParallelFlowWorker
    {
        public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return TaskResult.Empty;
        }
    }

    /// <summary>Calls back while it runs.</summary>
    private sealed class Probe(Action? whileRunning) : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            whileRunning?.Invoke();
            return ValueTask.FromResult(TaskResult.FromText("probed"));
        }
    }

    /// <summary>A model call: answers the same, reports its usage and the model's own name.</summary>
    private sealed class FakeModel : ParallelFlowWorker
    {
        public override string? ModelOperation => "chat";

        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            // Without a model named, the worker's own default answers.
            var model = request.With.TryGetProperty("model", out var named) ? named.GetString()! : "house";
            return ValueTask.FromResult(new TaskResult { Text = "42", Usage = new TaskUsage(12, 3, 0.002m), Model = $"{model}-v1" });
        }
    }
}
