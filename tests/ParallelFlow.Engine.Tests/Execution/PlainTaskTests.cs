using Microsoft.Extensions.Time.Testing;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>The plain-task path (one attempt, nothing around it, run without an async state machine when the worker
/// answers at once), the requests that point at what the compiled plan made once per task, and the clock read shared
/// between a task and the one its thread runs next.</summary>
public sealed class PlainTaskTests
{
    [Fact]
    public async Task Workers_that_answer_at_once_later_throw_or_fault_each_end_their_own_task_and_only_it()
    {
        var plan = new PlanBuilder("outcomes").WithWorkers(2)
            .AddTask("now", _ => ValueTask.FromResult(TaskResult.FromText("now")))
            .AddTask("later", async _ =>
            {
                await Task.Yield();
                return TaskResult.FromText("later");
            })
            .AddTask("throws", (Func<TaskRequest, ValueTask<TaskResult>>)(_ => throw new FatalTaskException("thrown at once")))
            .AddTask("faults", _ => ValueTask.FromException<TaskResult>(new FatalTaskException("a faulted answer")))
            .AddTask("after-now", r => ValueTask.FromResult(TaskResult.FromText($"{r.DependencyOutputs["now"]}+{r.DependencyOutputs["later"]}")), t => t.DependsOn("now", "later"))
            .AddTask("after-throws", _ => ValueTask.FromResult(TaskResult.FromText("never")), t => t.DependsOn("throws"))
            .AddTask("after-faults", _ => ValueTask.FromResult(TaskResult.FromText("never")), t => t.DependsOn("faults"))
            .Build();

        var result = await new ParallelFlowEngine().Compile(plan).RunAsync().Within();

        Assert.Equal(TaskRunStatus.Succeeded, result["now"].Status);
        Assert.Equal(TaskRunStatus.Succeeded, result["later"].Status);
        Assert.Equal("now+later", result["after-now"].Output);
        Assert.Equal((TaskRunStatus.Failed, FailureKind.Fatal, "thrown at once"), (result["throws"].Status, result["throws"].FailureKind, result["throws"].Error));
        Assert.Equal((TaskRunStatus.Failed, FailureKind.Fatal, "a faulted answer"), (result["faults"].Status, result["faults"].FailureKind, result["faults"].Error));
        Assert.Equal(TaskRunStatus.Skipped, result["after-throws"].Status);
        Assert.Equal(TaskRunStatus.Skipped, result["after-faults"].Status);
        Assert.All(result.Tasks.Where(t => t.Attempts > 0), t => Assert.Equal(1, t.Attempts));
    }

    [Fact]
    public async Task A_chain_run_inline_records_each_task_s_exact_time_and_each_starts_where_the_last_ended()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero));
        var builder = new PlanBuilder("chain").WithWorkers(1);
        for (var i = 0; i < 20; i++)
        {
            var seconds = i + 1;
            builder.AddTask($"t{i}", _ =>
            {
                // Synchronous work that takes a known time on the run's clock: each task is plain and runs inline.
                clock.Advance(TimeSpan.FromSeconds(seconds));
                return ValueTask.FromResult(TaskResult.Empty);
            }, t =>
            {
                if (seconds > 1)
                {
                    t.DependsOn($"t{seconds - 2}");
                }
            });
        }

        var result = await new ParallelFlowEngine(new EngineOptions { TimeProvider = clock }).Compile(builder.Build()).RunAsync().Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        for (var i = 0; i < 20; i++)
        {
            var task = result[$"t{i}"];
            Assert.Equal(TimeSpan.FromSeconds(i + 1), task.Duration);
            Assert.Equal(task.FinishedAt - task.StartedAt, task.Duration);
            if (i > 0)
            {
                Assert.Equal(result[$"t{i - 1}"].FinishedAt, task.StartedAt);
            }
        }

        Assert.Equal(TimeSpan.FromSeconds(Enumerable.Range(1, 20).Sum()), result.Elapsed);
    }

    [Fact]
    public async Task Requests_of_every_run_carry_the_task_s_definition_and_requests_built_by_hand_are_their_own()
    {
        var seen = new List<TaskRequest>();
        var plan = new PlanBuilder("requests").WithWorkers(1)
            .AddTask("a", r =>
            {
                lock (seen)
                {
                    seen.Add(r);
                }

                return ValueTask.FromResult(TaskResult.FromText(r.GetString("word") ?? "none"));
            }, t => t.Describe("the first").With(new { word = "alpha" }))
            .Build();
        var compiled = new ParallelFlowEngine().Compile(plan);

        var first = await compiled.RunAsync().Within();
        // Requests made by hand (a test, a host calling a worker itself) never change what the plan's requests hold.
        var byHand = new TaskRequest { TaskId = "x", WorkerName = "w", Description = "by hand", Parameters = 42 };
        var another = new TaskRequest { TaskId = "y", WorkerName = "v" };
        var second = await compiled.RunAsync().Within();

        Assert.Equal(("alpha", "alpha"), (first["a"].Output, second["a"].Output));
        Assert.Equal(2, seen.Count);
        Assert.All(seen, r => Assert.Equal(("a", "the first", "alpha", 1), (r.TaskId, r.Description, r.GetString("word"), r.Attempt)));
        Assert.NotSame(seen[0], seen[1]);
        Assert.Equal(("x", "w", "by hand", (object?)42), (byHand.TaskId, byHand.WorkerName, byHand.Description, byHand.Parameters));
        Assert.Equal(("y", "v", string.Empty, (object?)null, System.Text.Json.JsonValueKind.Object), (another.TaskId, another.WorkerName, another.Description, another.Parameters, another.With.ValueKind));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_restored_task_after_one_that_runs_again_is_not_run_again_and_the_run_waits_for_every_task(bool streamEvents)
    {
        var calls = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        ValueTask<TaskResult> Count(TaskRequest request, string output)
        {
            calls.AddOrUpdate(request.TaskId, 1, (_, n) => n + 1);
            return ValueTask.FromResult(TaskResult.FromText(output));
        }

        // r runs after d (a soft dependency); d failed in an earlier run, r succeeded and is restored: d runs again, and
        // its release must not bring r's count to zero and run r a second time.
        var plan = new PlanBuilder("restored").WithWorkers(2)
            .AddTask("d", r => Count(r, "d"))
            .AddTask("r", r => Count(r, "r again"), t => t.After("d"))
            .AddTask("s", r => Count(r, $"s of {r.DependencyOutputs["r"]}"), t => t.DependsOn("r"))
            .AddTask("u", r => Count(r, "u"), t => t.DependsOn("d"))
            .Build();
        var compiled = new ParallelFlowEngine().Compile(plan);

        var result = await compiled.RunAsync(new RunOptions
        {
            StreamEvents = streamEvents,
            Restored = new Dictionary<string, TaskResult> { ["r"] = TaskResult.FromText("r from the journal") },
        }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.False(calls.ContainsKey("r"));
        Assert.Equal(1, calls["d"]);
        Assert.Equal(1, calls["u"]);
        Assert.Equal("s of r from the journal", result["s"].Output);
        Assert.All(result.Tasks, t => Assert.Equal(TaskRunStatus.Succeeded, t.Status));
    }

    private static readonly AsyncLocal<string?> Local = new();

    [Fact]
    public async Task What_a_worker_answering_at_once_changes_of_its_context_does_not_reach_the_next_task_on_its_thread()
    {
        var builder = new PlanBuilder("contexts").WithWorkers(1);
        for (var i = 0; i < 10; i++)
        {
            var id = $"t{i}";
            builder.AddTask(id, _ =>
            {
                var seen = Local.Value ?? "none";
                Local.Value = $"set by {id}";
                System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("fr-FR");
                return ValueTask.FromResult(TaskResult.FromText($"{seen} {System.Globalization.CultureInfo.CurrentCulture.Name}"));
            }, t =>
            {
                if (id != "t0")
                {
                    t.DependsOn($"t{int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture) - 1}");
                }
            });
        }

        var compiled = new ParallelFlowEngine().Compile(builder.Build());
        var result = await Task.Run(async () =>
        {
            System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
            Local.Value = "the caller's";
            return await compiled.RunAsync().ConfigureAwait(false);
        }).Within();

        Assert.All(result.Tasks, t => Assert.Equal("the caller's fr-FR", t.Output));
    }
}
