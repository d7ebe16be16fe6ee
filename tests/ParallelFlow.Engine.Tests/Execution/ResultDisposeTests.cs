using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Tasks.Dataflow;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;
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

        // The first run's failure succeeds now and its success fails: no status, attempt count or result is left over.
        var second = await compiled.RunAsync(Options("two", "d")).Within();
        Assert.Equal(RunStatus.Failed, second.Status);
        Assert.Equal([TaskRunStatus.Succeeded, TaskRunStatus.Succeeded, TaskRunStatus.Succeeded, TaskRunStatus.Failed], second.Tasks.Select(t => t.Status));
        Assert.Equal(["two:a", "two:b", "two:c", null], second.Tasks.Select(t => t.Output));
        Assert.All(second.Tasks, t => Assert.Equal(1, t.Attempts));
        second.Dispose();

        // The second run ran on the first run's arrays, and gave them back in turn.
        var again = await TakeIdleArraysAsync(compiled);
        Assert.Same(kept.Rows, again.Rows);
        Assert.Same(kept.Results, again.Results);
        Assert.Same(kept.Remaining, again.Remaining);
    }

    [Fact]
    public async Task A_run_stopped_with_tasks_still_ready_gives_its_ready_set_back_empty_for_the_next_run()
    {
        // One worker type, one worker, fail fast: when f0 fails, the other 99 tasks of the fan-out wait in the lane's
        // ready set, and the stop takes them out of it (cancelled).
        var builder = new PlanBuilder("stopped").WithWorkers(1).OnFailure(FailurePolicy.FailFast).AddTask("root", "echo");
        for (var i = 0; i < 100; i++)
        {
            builder.AddTask($"f{i}", "echo", t => t.DependsOn("root"));
        }

        var compiled = Compile(builder);
        var first = await compiled.RunAsync(Options("one", "f0")).Within();
        Assert.Equal(RunStatus.Failed, first.Status);
        Assert.Equal(99, first.Tasks.Count(t => t.Status is TaskRunStatus.Skipped or TaskRunStatus.Cancelled));
        first.Dispose();

        var kept = await TakeIdleArraysAsync(compiled);
        Assert.NotNull(kept.Lane);
        Assert.Equal(0, kept.Lane.Count);
        compiled.KeepIdleArrays(kept);

        // The next run takes the set (and every other array) again, and runs every task from it.
        var second = await compiled.RunAsync(Options("two", "")).Within();
        Assert.Equal(RunStatus.Succeeded, second.Status);
        Assert.All(second.Tasks, t => Assert.Equal($"two:{t.TaskId}", t.Output));
        second.Dispose();
        var again = await TakeIdleArraysAsync(compiled);
        Assert.Same(kept.Lane, again.Lane);
        Assert.Same(kept.Rows, again.Rows);
    }

    [Fact]
    public void A_plan_keeps_two_sets_of_arrays_and_lets_a_third_go()
    {
        // Two: a run started as the last one completes, before that one's arrays are back, takes the other set.
        var compiled = Compile(new PlanBuilder("two-sets").WithWorkers(1).AddTask("a", "echo"));

        // A plan is compiled with one set, for its first run.
        var made = compiled.TakeIdleArrays();
        Assert.NotNull(made);
        Assert.Single(made.Rows);
        Assert.Null(compiled.TakeIdleArrays());

        static RunArrays Set() => new(new TaskRow[1], new TaskResult?[1], new int[1], null);
        RunArrays[] sets = [Set(), Set(), Set()];
        foreach (var set in sets)
        {
            compiled.KeepIdleArrays(set);
        }

        Assert.Same(sets[0], compiled.TakeIdleArrays());
        Assert.Same(sets[1], compiled.TakeIdleArrays());
        Assert.Null(compiled.TakeIdleArrays());
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
        var views = new ConcurrentQueue<IReadOnlyDictionary<string, TaskResult>>();
        var requests = new ConcurrentQueue<TaskRequest>();
        var compiled = Compile(new PlanBuilder("kept-views").WithWorkers(1)
            .AddTask("a", "echo")
            .AddTask("b", request =>
            {
                // A view read during the run and kept.
                views.Enqueue(request.DependencyOutputs);
                return ValueTask.FromResult(TaskResult.FromText(request.DependencyOutputs["a"].Text!));
            }, t => t.DependsOn("a"))
            .AddTask("c", request =>
            {
                // A request kept unread: its view is made only after the run.
                requests.Enqueue(request);
                return ValueTask.FromResult(TaskResult.FromText("c"));
            }, t => t.DependsOn("a")));

        var first = await compiled.RunAsync(Options("one", "")).Within();
        Assert.Equal("one:a", first["b"].Output);
        first.Dispose();
        _ = await TakeIdleArraysAsync(compiled, putBack: true);
        using var second = await compiled.RunAsync(Options("two", "")).Within();
        Assert.Equal("two:a", second["b"].Output);

        Assert.True(views.TryDequeue(out var keptView));
        Assert.Throws<ObjectDisposedException>(() => keptView["a"]);
        Assert.True(requests.TryDequeue(out var keptRequest));
        Assert.Throws<ObjectDisposedException>(() => keptRequest.DependencyOutputs["a"]);
        // The second run's own view and request, its result not disposed, still read its own results.
        Assert.True(views.TryDequeue(out var ownView));
        Assert.Equal("two:a", ownView["a"].Text);
        Assert.True(requests.TryDequeue(out var ownRequest));
        Assert.Equal("two:a", ownRequest.DependencyOutputs["a"].Text);
    }

    [Fact]
    public async Task A_run_that_abandoned_a_worker_keeps_its_arrays()
    {
        var clock = new ObservedClock();
        var gated = new GatedWorker { IgnoreCancellation = true };
        var catalog = BuiltInWorkers.CreateCatalog(clock);
        catalog.AddWorker("gated", gated);
        var compiled = new ParallelFlowEngine(new EngineOptions { Catalog = catalog, TimeProvider = clock, CancellationGracePeriod = TimeSpan.FromSeconds(3) })
            .Compile(new PlanBuilder("abandons").AddTask("hang", "gated", t => t.Timeout(TimeSpan.FromSeconds(5))).Build());

        var running = compiled.RunAsync();
        await gated.Started("hang").Within();
        Assert.Equal(TimeSpan.FromSeconds(5), await clock.NextTimerAsync());
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(TimeSpan.FromSeconds(3), await clock.NextTimerAsync());
        clock.Advance(TimeSpan.FromSeconds(3));
        var result = await running.Within();
        Assert.Contains("was abandoned", result["hang"].Error, StringComparison.Ordinal);
        result.Dispose();

        // Once its executor is idle (given back to the plan first), the run would have given its arrays back too.
        await Task.Yield();
        InProcessExecutor? idle = null;
        Assert.True(SpinWait.SpinUntil(() => (idle = compiled.TakeIdleExecutor()) is not null, Limit));
        Assert.Null(compiled.TakeIdleArrays());
        gated.Release("hang");
    }

    [Fact]
    public async Task Results_a_plan_s_block_hands_on_give_their_arrays_back_when_disposed()
    {
        var compiled = Compile(new PlanBuilder("block").WithWorkers(2)
            .AddTask("a", "echo")
            .AddTask("b", "echo", t => t.DependsOn("a"))
            .AddTask("c", "echo", t => t.DependsOn("a", "b")));
        var block = compiled.AsBlock<int>(i => Options($"item{i}", i % 7 == 0 ? "b" : ""), new PlanBlockOptions { MaxConcurrentRuns = 3, BoundedCapacity = 6 });
        var outputs = new List<string?>();
        var sink = new ActionBlock<RunResult>(result =>
        {
            using (result)
            {
                outputs.Add(string.Join(' ', result.Tasks.Select(t => t.Output ?? t.Status.ToString())));
            }
        });
        block.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });
        for (var i = 0; i < 120; i++)
        {
            Assert.True(await block.SendAsync(i).Within());
        }

        block.Complete();
        await sink.Completion.Within();

        Assert.Equal(Enumerable.Range(0, 120).Select(i => i % 7 == 0 ? $"item{i}:a Failed Skipped" : $"item{i}:a item{i}:b item{i}:c"), outputs);
        _ = await TakeIdleArraysAsync(compiled);
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
            var predecessors = RandomDag.Predecessors(random, count, edges: 3.0);
            var builder = new PlanBuilder($"random-{seed}").WithWorkers(random.Next(1, 4));
            for (var i = 0; i < count; i++)
            {
                var dependsOn = predecessors[i].Select(p => $"t{p}").ToArray();
                builder.AddTask($"t{i}", "echo", t => t.DependsOn(dependsOn));
            }

            var compiled = Compile(builder);
            // Every other round in a pool, which queues a run beyond three: a pooled run's arrays go back as well.
            var pool = new ParallelFlowPool(new PoolOptions { Workers = 2, MaxActiveRuns = 3 });
            for (var round = 0; round < 5; round++)
            {
                var pooled = round % 2 == 1;
                var runs = Enumerable.Range(0, 4).Select(r =>
                {
                    var label = $"s{seed}r{round}n{r}";
                    var failing = Enumerable.Range(0, count).Where(_ => random.NextDouble() < 0.1).ToHashSet();
                    var options = Options(label, string.Join(',', failing.Select(f => $"t{f}"))) with { Pool = pooled ? pool : null };
                    return (Label: label, Failing: failing, Run: compiled.RunAsync(options));
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

                // Every result is disposed: a set of arrays is back, and the next round's first run takes it.
                _ = await TakeIdleArraysAsync(compiled, putBack: true);
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
        var plan = builder
            .Input(new PlanInput("run", PlanInputType.String) { Required = true })
            .Input(new PlanInput("fail", PlanInputType.String) { Required = true })
            .Build();
        return TestEngines.With(null, ("echo", new EchoWorker())).Compile(plan);
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
