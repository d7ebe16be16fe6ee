using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CsCheck;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>The hand-over: in a run that keeps nothing per worker, a success that makes exactly one dependent of its
/// own type ready while no other task waits gives its worker to that dependent without the run's gate. These runs use
/// one worker type whose tasks answer at once, on real threads, so chains hand over on nearly every step and the
/// other steps race with them under the gate.</summary>
public sealed class HandOverPropertyTests
{
    private const string Type = "instant";

    // Mostly chains (a task after the one before it, or after one earlier task), with joins and forks between them.
    private static readonly Gen<Graph> Graphs =
        Gen.Select(Gen.Int[1, 400], Gen.Int, Gen.Int[1, 4], Gen.Double[0, 0.05],
            (count, seed, workers, failureRate) => Graph.Create(count, seed, workers, failureRate));

    [Fact]
    public Task Every_task_runs_once_after_its_dependencies_within_the_worker_limit_and_ends_as_its_dependencies_say() =>
        Graphs.SampleAsync(async graph =>
        {
            var probe = new InstantProbe(graph);
            var compiled = TestEngines.With(null, (Type, probe)).Compile(graph.ToPlan());
            var runs = graph.Runs();
            // Runs of one compiled plan one after another: each reuses what the last gave back to the plan.
            for (var run = 0; run < 3; run++)
            {
                probe.Reset();
                var result = await compiled.RunAsync().Within();

                Assert.Empty(probe.Violations);
                Assert.True(probe.Peak <= graph.Workers, $"peak {probe.Peak} > {graph.Workers} workers");
                for (var i = 0; i < graph.Count; i++)
                {
                    var expected = !runs[i] ? TaskRunStatus.Skipped : graph.Fails[i] ? TaskRunStatus.Failed : TaskRunStatus.Succeeded;
                    Assert.Equal(expected, result[Graph.Id(i)].Status);
                    Assert.Equal(runs[i] ? 1 : 0, probe.Executions.GetValueOrDefault(Graph.Id(i)));
                }

                Assert.Equal(graph.Fails.Any(f => f) ? RunStatus.Failed : RunStatus.Succeeded, result.Status);
                AssertTimesInOrder(graph, result);
            }
        }, iter: 150);

    /// <summary>The run's times, on the system's clock (the processor's counter where the machine has one that the
    /// kernel trusts): each task that ran starts no earlier than the run and the ends of its dependencies (hard or
    /// soft), and ends no earlier than it starts and no later than the run.</summary>
    private static void AssertTimesInOrder(Graph graph, RunResult result)
    {
        var end = result.StartedAt + result.Elapsed;
        for (var i = 0; i < graph.Count; i++)
        {
            var task = result[Graph.Id(i)];
            if (task.StartedAt is not { } started || task.FinishedAt is not { } finished)
            {
                continue;
            }

            Assert.True(started >= result.StartedAt && started <= finished && finished <= end,
                $"{task.TaskId}: {started:O} to {finished:O}, in a run from {result.StartedAt:O} to {end:O}");
            foreach (var dependency in graph.Hard[i].Concat(graph.Soft[i]))
            {
                var before = result[Graph.Id(dependency)].FinishedAt;
                Assert.True(before is null || before <= started, $"{task.TaskId} started at {started:O}, before t{dependency} ended at {before:O}");
            }
        }
    }

    [Fact]
    public Task A_run_with_one_worker_runs_its_tasks_one_at_a_time() =>
        Graphs.SampleAsync(async graph =>
        {
            var probe = new InstantProbe(graph);
            var result = await TestEngines.With(null, (Type, probe)).RunAsync(graph.ToPlan(), new RunOptions { Workers = 1 }).Within();

            Assert.Empty(probe.Violations);
            Assert.Equal(1, probe.Peak);
            Assert.Equal(graph.Runs().Count(r => r), probe.Executions.Count);
            Assert.Equal(graph.Fails.Any(f => f) ? RunStatus.Failed : RunStatus.Succeeded, result.Status);
        }, iter: 50);

    [Fact]
    public Task On_an_executor_without_the_inline_path_every_task_is_started_once_through_it() =>
        Graphs.SampleAsync(async graph =>
        {
            var probe = new InstantProbe(graph);
            var made = new ConcurrentQueue<DedicatedThreadExecutor>();
            var result = await TestEngines.With(null, (Type, probe)).RunAsync(graph.ToPlan(), new RunOptions { Executor = DedicatedThreadExecutor.Factory(made) }).Within();

            Assert.Empty(probe.Violations);
            Assert.True(probe.Peak <= graph.Workers, $"peak {probe.Peak} > {graph.Workers} workers");
            var executor = Assert.Single(made);
            Assert.Empty(executor.Violations);
            var runs = graph.Runs();
            for (var i = 0; i < graph.Count; i++)
            {
                Assert.Equal(runs[i] ? 1 : 0, executor.Starts.GetValueOrDefault(i));
                Assert.Equal(!runs[i] ? TaskRunStatus.Skipped : graph.Fails[i] ? TaskRunStatus.Failed : TaskRunStatus.Succeeded, result[Graph.Id(i)].Status);
            }
        }, iter: 40);

    [Fact]
    public Task A_stop_at_any_point_ends_the_run_with_every_task_final_and_none_run_twice() =>
        Gen.Select(Graphs, Gen.Int[0, 400], Gen.Bool).SampleAsync(async (graph, stopAfter, dedicated) =>
        {
            using var stop = new CancellationTokenSource();
            var started = 0;
            Task? cancelling = null;
            var executions = new ConcurrentDictionary<string, int>();
            var worker = new DelegateWorker(request =>
            {
                executions.AddOrUpdate(request.TaskId, 1, (_, n) => n + 1);
                if (Interlocked.Increment(ref started) == stopAfter)
                {
                    // From another thread, while this one and the others go on.
                    cancelling = Task.Run(stop.Cancel);
                }

                return TaskResult.FromText(request.TaskId);
            });

            // On the in-process executor, or on one that starts a thread per task and checks that no task is started
            // once the run has completed it.
            var made = new ConcurrentQueue<DedicatedThreadExecutor>();
            var options = dedicated ? new RunOptions { Executor = DedicatedThreadExecutor.Factory(made) } : null;
            var result = await TestEngines.With(null, (Type, worker)).RunAsync(graph.ToPlan(), options, stop.Token).Within();
            await (Volatile.Read(ref cancelling) ?? Task.CompletedTask);
            Assert.All(made, executor => Assert.Empty(executor.Violations));

            // Every task ended, and none ran twice. One that ran succeeded, or was cancelled while it ran (a worker that
            // returns after the run's token fired does not succeed late); one that never ran was cancelled.
            Assert.All(executions, e => Assert.Equal(1, e.Value));
            foreach (var task in result.Tasks)
            {
                var ran = executions.ContainsKey(task.TaskId);
                Assert.True(ran ? task.Status is TaskRunStatus.Succeeded or TaskRunStatus.Cancelled : task.Status is TaskRunStatus.Cancelled,
                    $"{task.TaskId}: {task.Status}, {(ran ? "ran" : "never ran")}");
            }

            var stopped = result.Tasks.Any(t => t.Status == TaskRunStatus.Cancelled);
            // (This worker fails nothing.)
            Assert.Equal(stopped ? RunStatus.Cancelled : RunStatus.Succeeded, result.Status);
        }, iter: 300);

    [Theory]
    [InlineData("critical_path")]
    [InlineData("priority")]
    [InlineData("fifo")]
    public async Task A_dependent_made_ready_waits_behind_a_better_ranked_task_already_waiting(string strategy)
    {
        // One worker: "first" runs, and "next" becomes ready when it ends, while "waiting" has been ready since the
        // start. The worker goes to the better ranked of the two, as the step would give it, not to the dependent.
        var order = new ConcurrentQueue<string>();
        var worker = new DelegateWorker(request =>
        {
            order.Enqueue(request.TaskId);
            return TaskResult.FromText(request.TaskId);
        });
        var plan = new PlanBuilder("ranked").WithWorkers(1)
            .AddTask("first", Type, b => b.Priority(TaskPriority.Critical))
            .AddTask("waiting", Type, b => b.Priority(TaskPriority.High))
            .AddTask("next", Type, b => b.DependsOn("first").Priority(TaskPriority.Low))
            .Build();

        var result = await TestEngines.With(null, (Type, worker)).RunAsync(plan, new RunOptions { Strategy = strategy }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal(["first", "waiting", "next"], order);
    }

    [Fact]
    public async Task A_stop_asked_by_a_task_of_a_chain_starts_no_task_after_it_and_cancels_the_rest()
    {
        const int count = 200;
        var started = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var worker = new DelegateWorker(request =>
        {
            started.Enqueue(request.TaskId);
            if (request.TaskId == "t120")
            {
                stop.Cancel();
            }

            return TaskResult.FromText(request.TaskId);
        });
        var builder = new PlanBuilder("chain").WithWorkers(2);
        for (var i = 0; i < count; i++)
        {
            var task = i;
            builder.AddTask(Graph.Id(task), Type, b => b.DependsOn(task == 0 ? [] : [Graph.Id(task - 1)]));
        }

        var result = await TestEngines.With(null, (Type, worker)).RunAsync(builder.Build(), cancellationToken: stop.Token).Within();

        Assert.Equal(RunStatus.Cancelled, result.Status);
        Assert.Equal([.. Enumerable.Range(0, 121).Select(Graph.Id)], started);
        Assert.All(Enumerable.Range(0, 120), i => Assert.Equal(TaskRunStatus.Succeeded, result[Graph.Id(i)].Status));
        Assert.All(Enumerable.Range(121, count - 121), i => Assert.Equal(TaskRunStatus.Cancelled, result[Graph.Id(i)].Status));
    }

    [Fact]
    public async Task Every_task_handed_over_is_counted_in_the_finished_tasks_metric()
    {
        // A worker type of its own: the listener is the process's, and other tests' runs may be measured at the same time.
        const string type = "instant-metered";
        const int count = 500;
        var finished = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                // Only this instrument: measuring queue waits would record ready times, and a run that records them
                // takes every step under the gate.
                if (instrument.Name == "parallelflow.tasks.finished")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? worker = null, status = null;
            foreach (var tag in tags)
            {
                worker = tag.Key == "parallelflow.worker" ? tag.Value as string : worker;
                status = tag.Key == "parallelflow.task.status" ? tag.Value as string : status;
            }

            if (worker == type)
            {
                finished.AddOrUpdate(status!, value, (_, n) => n + value);
            }
        });
        listener.Start();
        var builder = new PlanBuilder("chain").WithWorkers(2);
        for (var i = 0; i < count; i++)
        {
            var task = i;
            builder.AddTask(Graph.Id(task), type, b => b.DependsOn(task == 0 ? [] : [Graph.Id(task - 1)]));
        }

        var result = await TestEngines.With(null, (type, new DelegateWorker(r => TaskResult.FromText(r.TaskId)))).RunAsync(builder.Build()).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal(count, finished.GetValueOrDefault("succeeded"));
        Assert.Single(finished);
    }

    /// <summary>A worker that answers at once with what its function returns (or throws).</summary>
    private sealed class DelegateWorker(Func<TaskRequest, TaskResult> answer) : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(answer(request));
    }

    /// <summary>Answers at once, and checks that every hard dependency had succeeded (its output is there) and every
    /// soft one had finished when the task started.</summary>
    private sealed class InstantProbe(Graph graph) : ParallelFlowWorker
    {
        private int _running;
        private int _peak;

        public ConcurrentDictionary<string, int> Executions { get; } = new();

        public ConcurrentDictionary<int, bool> Finished { get; } = new();

        public ConcurrentQueue<string> Violations { get; } = new();

        public int Peak => Volatile.Read(ref _peak);

        public void Reset()
        {
            Executions.Clear();
            Finished.Clear();
            _peak = 0;
        }

        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            var running = Interlocked.Increment(ref _running);
            var peak = Volatile.Read(ref _peak);
            while (running > peak && Interlocked.CompareExchange(ref _peak, running, peak) != peak)
            {
                peak = Volatile.Read(ref _peak);
            }

            var id = request.TaskId;
            var task = int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture);
            try
            {
                Executions.AddOrUpdate(id, 1, (_, n) => n + 1);
                foreach (var dependency in graph.Hard[task])
                {
                    if (!request.DependencyOutputs.TryGetValue(Graph.Id(dependency), out var output) || output.Text != Graph.Id(dependency))
                    {
                        Violations.Enqueue($"{id} started without the output of {Graph.Id(dependency)}");
                    }
                }

                foreach (var dependency in graph.Soft[task].Where(d => graph.Runs()[d] && !Finished.ContainsKey(d)))
                {
                    Violations.Enqueue($"{id} started before its soft dependency {Graph.Id(dependency)} finished");
                }

                return graph.Fails[task]
                    ? ValueTask.FromException<TaskResult>(new FatalTaskException($"{id} fails by design"))
                    : ValueTask.FromResult(TaskResult.FromText(id));
            }
            finally
            {
                Finished[task] = true;
                Interlocked.Decrement(ref _running);
            }
        }
    }

    /// <summary>A random graph of one worker type: edges go from lower to higher numbers, hard or soft.</summary>
    private sealed record Graph(int Count, int[][] Hard, int[][] Soft, bool[] Fails, int Workers)
    {
        public static Graph Create(int count, int seed, int workers, double failureRate)
        {
            var random = new Random(seed);
            var hard = new int[count][];
            var soft = new int[count][];
            for (var i = 0; i < count; i++)
            {
                var roll = random.NextDouble();
                int[] predecessors = i == 0 || roll < 0.05 ? []
                    : roll < 0.65 ? [i - 1]
                    : roll < 0.85 ? [random.Next(i)]
                    : [.. Enumerable.Range(0, random.Next(2, 5)).Select(_ => random.Next(i)).Distinct()];
                var isSoft = predecessors.Length > 1 && random.NextDouble() < 0.3;
                hard[i] = isSoft ? predecessors[1..] : predecessors;
                soft[i] = isSoft ? predecessors[..1] : [];
            }

            var fails = Enumerable.Range(0, count).Select(_ => random.NextDouble() < failureRate).ToArray();
            return new Graph(count, hard, soft, fails, workers);
        }

        public static string Id(int task) => $"t{task}";

        /// <summary>Whether a task runs: every hard dependency must run and succeed.</summary>
        public bool[] Runs() => _runs ??= RandomDag.RunsOf(Hard, Fails);

        private bool[]? _runs;

        public PlanDefinition ToPlan()
        {
            var builder = new PlanBuilder("hand-over").WithWorkers(Workers);
            for (var i = 0; i < Count; i++)
            {
                var task = i;
                builder.AddTask(Id(task), Type, b => b.DependsOn([.. Hard[task].Select(Id)]).After([.. Soft[task].Select(Id)]));
            }

            return builder.Build();
        }

        public override string ToString() =>
            $"{Count} tasks, {Workers} workers: " + string.Join(" ", Enumerable.Range(0, Count).Select(i => $"t{i}{(Fails[i] ? "!" : "")}<-[{string.Join(",", Hard[i])}|{string.Join(",", Soft[i])}]"));
    }
}
