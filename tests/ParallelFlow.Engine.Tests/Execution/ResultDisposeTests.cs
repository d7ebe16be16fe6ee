using System.Collections.Concurrent;
using System.Text.Json;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>A disposed result gives its run's per-task arrays back to the compiled plan, and the plan's next run takes
/// them, cleared: no run ever sees another's statuses, results or counts, concurrent or not; a disposed result's tasks
/// can no longer be read (unless they were read before), nor can a dependency view a worker kept.</summary>
public sealed class ResultDisposeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task The_next_run_takes_a_disposed_run_s_arrays_cleared()
    {
        var compiled = Compile(new PlanBuilder("reuse").WithWorkers(2)
            .AddTask("a", "echo")
            .AddTask("b", "echo", t => t.DependsOn("a"))
            .AddTask("c", "echo", t => t.DependsOn("b"))
            .AddTask("d", "echo"));

        var first = await compiled.RunAsync(Options("one", "b")).Within();
        Assert.Equal(RunStatus.Failed, first.Status);
        Assert.Equal([TaskRunStatus.Succeeded, TaskRunStatus.Failed, TaskRunStatus.Skipped, TaskRunStatus.Succeeded], first.Tasks.Select(t => t.Status));
        first.Dispose();
        var kept = await TakeIdleArraysAsync(compiled);
        compiled.KeepIdleArrays(kept);

        var second = await compiled.RunAsync(Options("two", "")).Within();
        Assert.Equal(RunStatus.Succeeded, second.Status);
        Assert.All(second.Tasks, t =>
        {
            Assert.Equal(TaskRunStatus.Succeeded, t.Status);
            Assert.Equal(1, t.Attempts);
            Assert.Null(t.Error);
            Assert.Equal($"two:{t.TaskId}", t.Output);
        });
        second.Dispose();

        // The second run ran on the first run's arrays, and gave them back in turn.
        var again = await TakeIdleArraysAsync(compiled);
        Assert.Same(kept.Rows, again.Rows);
        Assert.Same(kept.Results, again.Results);
        Assert.Same(kept.Remaining, again.Remaining);
    }

    [Fact]
    public async Task A_result_that_is_not_disposed_keeps_its_arrays()
    {
        var compiled = Compile(new PlanBuilder("kept").WithWorkers(2).AddTask("a", "echo").AddTask("b", "echo", t => t.DependsOn("a")));
        var first = await compiled.RunAsync(Options("one", "")).Within();
        var second = await compiled.RunAsync(Options("two", "")).Within();

        Assert.Null(compiled.TakeIdleArrays());
        Assert.Equal(["one:a", "one:b"], first.Tasks.Select(t => t.Output));
        Assert.Equal(["two:a", "two:b"], second.Tasks.Select(t => t.Output));
    }

    [Fact]
    public async Task A_disposed_result_s_tasks_throw_unless_they_were_read_before()
    {
        var compiled = Compile(new PlanBuilder("read").WithWorkers(2).AddTask("a", "echo").AddTask("b", "echo", t => t.DependsOn("a")));

        var read = await compiled.RunAsync(Options("read", "")).Within();
        var outputs = read.Tasks.Select(t => t.Output).ToArray();
        read.Dispose();
        Assert.Equal(outputs, read.Tasks.Select(t => t.Output));

        var unread = await compiled.RunAsync(Options("unread", "")).Within();
        unread.Dispose();
        unread.Dispose();
        Assert.Equal(RunStatus.Succeeded, unread.Status);
        Assert.Equal(2, unread.Workers);
        var error = Assert.Throws<ObjectDisposedException>(() => unread.Tasks[0]);
        Assert.Contains("Read them before disposing the result", error.Message, StringComparison.Ordinal);
        Assert.Throws<ObjectDisposedException>(() => unread.ObservedCriticalPath);
    }

    [Fact]
    public async Task A_dependency_view_a_worker_kept_cannot_read_a_later_run_s_results()
    {
        var requests = new ConcurrentQueue<TaskRequest>();
        var views = new ConcurrentQueue<IReadOnlyDictionary<string, TaskResult>>();
        var compiled = Compile(new PlanBuilder("kept-views").WithWorkers(1)
            .AddTask("a", "echo")
            .AddTask("b", request =>
            {
                // One request whose view is read now, one whose view is made only later.
                views.Enqueue(request.DependencyOutputs);
                _ = request.DependencyOutputs["a"];
                requests.Enqueue(request);
                return ValueTask.FromResult(TaskResult.FromText("b"));
            }, t => t.DependsOn("a")));

        var first = await compiled.RunAsync(Options("one", "")).Within();
        Assert.Equal(RunStatus.Succeeded, first.Status);
        first.Dispose();
        _ = await TakeIdleArraysAsync(compiled, putBack: true);
        using var second = await compiled.RunAsync(Options("two", "")).Within();
        Assert.Equal("two:a", second["a"].Output);

        var keptView = views.First();
        Assert.Throws<ObjectDisposedException>(() => keptView["a"]);
        var keptRequest = requests.First();
        Assert.Throws<ObjectDisposedException>(() => keptRequest.DependencyOutputs.Values.ToList());
        // The second run's own view still reads its own results.
        Assert.Equal("two:a", views.Last()["a"].Text);
    }

    /// <summary>Random plans, runs of one compiled plan four at a time with different inputs and failures, each result
    /// checked whole and then disposed (or disposed unread): every task's status and output is its own run's, though
    /// later runs take earlier runs' arrays.</summary>
    [Fact]
    public async Task Concurrent_runs_of_random_plans_each_see_only_their_own_outcomes()
    {
        for (var seed = 0; seed < 24; seed++)
        {
            var random = new Random(seed);
            var count = random.Next(3, 40);
            var predecessors = Enumerable.Range(0, count)
                .Select(i => Enumerable.Range(0, i).Where(_ => random.NextDouble() < 3.0 / Math.Max(1, i)).ToArray())
                .ToArray();
            var builder = new PlanBuilder($"random-{seed}").WithWorkers(random.Next(1, 4));
            for (var i = 0; i < count; i++)
            {
                var dependsOn = predecessors[i].Select(p => $"t{p}").ToArray();
                builder.AddTask($"t{i}", "echo", t => t.DependsOn(dependsOn));
            }

            var compiled = Compile(builder);
            for (var round = 0; round < 5; round++)
            {
                var runs = Enumerable.Range(0, 4).Select(r =>
                {
                    var label = $"s{seed}r{round}n{r}";
                    var failing = Enumerable.Range(0, count).Where(_ => random.NextDouble() < 0.1).ToHashSet();
                    return (Label: label, Failing: failing, Run: compiled.RunAsync(Options(label, string.Join(',', failing.Select(f => $"t{f}")))));
                }).ToArray();

                foreach (var (label, failing, run) in runs.OrderBy(_ => random.Next()))
                {
                    var result = await run.Within();
                    if (random.NextDouble() < 0.25)
                    {
                        result.Dispose();
                        continue;
                    }

                    var expected = Expected(predecessors, failing);
                    for (var i = 0; i < count; i++)
                    {
                        var task = result.Tasks[i];
                        Assert.True(expected[i] == task.Status, $"seed {seed}, {label}: t{i} is {task.Status}, expected {expected[i]}");
                        Assert.Equal(expected[i] == TaskRunStatus.Succeeded ? $"{label}:t{i}" : null, task.Output);
                        Assert.Equal(expected[i] == TaskRunStatus.Skipped ? 0 : 1, task.Attempts);
                    }

                    result.Dispose();
                }
            }
        }
    }

    private static TaskRunStatus[] Expected(int[][] predecessors, HashSet<int> failing)
    {
        var expected = new TaskRunStatus[predecessors.Length];
        for (var i = 0; i < predecessors.Length; i++)
        {
            expected[i] = predecessors[i].Any(p => expected[p] != TaskRunStatus.Succeeded) ? TaskRunStatus.Skipped
                : failing.Contains(i) ? TaskRunStatus.Failed
                : TaskRunStatus.Succeeded;
        }

        return expected;
    }

    /// <summary>The arrays the plan keeps, once the run that gave them back has let its executor go: the code awaiting a
    /// run may go on on its last task's thread, which the executor counts as busy until that code yields it.</summary>
    private static async Task<RunArrays> TakeIdleArraysAsync(CompiledPlan compiled, bool putBack = false)
    {
        await Task.Yield();
        RunArrays? kept = null;
        Assert.True(SpinWait.SpinUntil(() => (kept = compiled.TakeIdleArrays()) is not null, Limit), "the disposed run's arrays never came back to its plan");
        if (putBack)
        {
            compiled.KeepIdleArrays(kept!);
        }

        return kept!;
    }

    private static RunOptions Options(string run, string failing) => new()
    {
        Inputs = new Dictionary<string, JsonElement>
        {
            ["run"] = JsonSerializer.SerializeToElement(run),
            ["fail"] = JsonSerializer.SerializeToElement(failing),
        },
    };

    private static CompiledPlan Compile(PlanBuilder builder)
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("echo", new EchoWorker());
        var plan = builder
            .Input(new PlanInput("run", PlanInputType.String) { Required = true })
            .Input(new PlanInput("fail", PlanInputType.String) { Required = true })
            .Build();
        return new ParallelFlowEngine(new EngineOptions { Catalog = catalog }).Compile(plan);
    }

    /// <summary>Answers <c>RUN:ID</c>, fails when its id is in the run's <c>fail</c> list, and answers <c>WRONG</c>
    /// when a dependency's output is another run's.</summary>
    private sealed class EchoWorker : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            var run = request.Inputs["run"].GetString()!;
            if (request.Inputs["fail"].GetString()!.Split(',').Contains(request.TaskId))
            {
                return ValueTask.FromException<TaskResult>(new InvalidOperationException($"{request.TaskId} fails in {run}"));
            }

            return ValueTask.FromResult(TaskResult.FromText(request.DependencyOutputs.Values.All(d => (d.Text ?? "").StartsWith($"{run}:", StringComparison.Ordinal))
                ? $"{run}:{request.TaskId}"
                : "WRONG"));
        }
    }
}
