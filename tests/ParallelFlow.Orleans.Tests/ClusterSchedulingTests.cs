using CsCheck;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;
using ParallelFlow.Sdk;

namespace ParallelFlow.Orleans.Tests;

/// <summary>The engine's scheduling properties hold when the tasks execute on the silos of a cluster: every task runs
/// exactly once after its dependencies, the global and per-worker-type limits hold cluster-wide, failures stay with
/// their task; outputs, usage and decision records come back over the wire; a worker no silo provides is refused.</summary>
[Collection(ClusterGroup.Name)]
public sealed class ClusterSchedulingTests(ClusterFixture cluster)
{
    private static readonly Gen<RandomDag> Dags =
        Gen.Select(Gen.Int[1, 25], Gen.Int, Gen.Int[1, 6], Gen.Double[0, 0.3],
            (count, seed, workers, failureRate) => RandomDag.Create(count, seed, workers, failureRate));

    [Fact]
    public Task On_the_cluster_every_task_runs_once_after_its_dependencies_within_every_limit() =>
        Dags.SampleAsync(async dag =>
        {
            var runs = dag.Runs();
            var probe = new Probe { NeverRuns = [.. Enumerable.Range(0, dag.Count).Where(i => !runs[i]).Select(RandomDag.Id)] };
            (IEnumerable<string>, IEnumerable<string>) Dependencies(string id)
            {
                var task = int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture);
                return (dag.HardPredecessors[task].Select(RandomDag.Id), dag.SoftPredecessors[task].Select(RandomDag.Id));
            }

            foreach (var type in RandomDag.WorkerTypes)
            {
                ClusterFixture.Workers[type] = probe.WorkerFor(type, Dependencies);
            }

            var doneBefore = cluster.Dispatcher.Silos.Sum(s => s.Done);
            var result = await CoordinatorEngine().RunAsync(dag.ToPlan(), new RunOptions { Dispatcher = cluster.Dispatcher }).Within();

            Assert.Empty(probe.Violations);
            Assert.True(probe.Peak <= dag.Workers, $"peak {probe.Peak} > {dag.Workers} workers");
            for (var t = 0; t < RandomDag.WorkerTypes.Length; t++)
            {
                var peak = probe.PeakByType.GetValueOrDefault(RandomDag.WorkerTypes[t]);
                Assert.True(peak <= dag.Limits[t], $"{RandomDag.WorkerTypes[t]} peak {peak} > limit {dag.Limits[t]}");
            }

            for (var i = 0; i < dag.Count; i++)
            {
                var id = RandomDag.Id(i);
                var expected = !runs[i] ? TaskRunStatus.Skipped : dag.Fails[i] ? TaskRunStatus.Failed : TaskRunStatus.Succeeded;
                var task = result.Tasks.Single(r => r.TaskId == id);
                Assert.Equal(expected, task.Status);
                Assert.Equal(runs[i] ? 1 : 0, probe.Executions.GetValueOrDefault(id));
                Assert.Equal(0, task.Requeued);
            }

            Assert.Equal(dag.Fails.Any(f => f) ? RunStatus.Failed : RunStatus.Succeeded, result.Status);
            // The attempts ran on the silos, not here (the coordinator's own workers throw).
            await WaitFor(() => cluster.Dispatcher.Silos.Sum(s => s.Done) - doneBefore >= runs.Count(r => r) - dag.Fails.Count(f => f));
        }, iter: 25, threads: 1); // One sample at a time: the silos' workers are the sample's probe.

    [Fact]
    public async Task Outputs_usage_records_and_dependency_outputs_cross_the_wire()
    {
        ClusterFixture.Workers["remote"] = new DelegateWorker((request, _) => ValueTask.FromResult(request.TaskId == "first"
            ? new TaskResult
            {
                Text = "hello",
                Json = System.Text.Json.JsonDocument.Parse("""{"n": 1}""").RootElement.Clone(),
                Usage = new TaskUsage(10, 5, 0.25m),
                Record = System.Text.Json.JsonDocument.Parse("""{"winner": "a"}""").RootElement.Clone(),
                Model = "m1",
                Artifacts = [new TaskArtifact("log", "/tmp/log.txt", "text/plain")],
            }
            : TaskResult.FromText($"{request.DependencyOutputs["first"].Text} {request.DependencyOutputs["first"].Json?.GetProperty("n").GetInt32()} {request.Inputs["who"].GetString()} {request.GetString("suffix")}")));
        var plan = new PlanBuilder("wire")
            .Input(new PlanInput("who", PlanInputType.String) { Required = true })
            .AddTask("first", "remote")
            .AddTask("second", "remote", t => t.DependsOn("first").With(new { suffix = "{{inputs.who}}!" }))
            .Build();

        var result = await CoordinatorEngine().RunAsync(plan, new RunOptions
        {
            Dispatcher = cluster.Dispatcher,
            Inputs = new Dictionary<string, System.Text.Json.JsonElement> { ["who"] = System.Text.Json.JsonDocument.Parse("\"world\"").RootElement.Clone() },
        }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        var first = result.Tasks[0].Result!;
        Assert.Equal(("hello", 1, new TaskUsage(10, 5, 0.25m), "a", "m1"), (first.Text, first.Json!.Value.GetProperty("n").GetInt32(), first.Usage, first.Record!.Value.GetProperty("winner").GetString(), first.Model));
        Assert.Equal(new TaskArtifact("log", "/tmp/log.txt", "text/plain"), Assert.Single(first.Artifacts));
        Assert.Equal("hello 1 world world!", result.Tasks[1].Result!.Text);
    }

    [Fact]
    public async Task A_workers_progress_lines_on_a_silo_are_the_runs_task_output_events()
    {
        ClusterFixture.Workers["remote"] = new DelegateWorker(async (request, cancellationToken) =>
        {
            // A burst: the first line goes at once, the last of the rest 100 ms later, those between are dropped (the
            // live view shows a task's current line).
            foreach (var line in new[] { "line 1", "line 2", "line 3", "line 4" })
            {
                request.Progress.Report(line);
            }

            await Task.Delay(300, cancellationToken);
            request.Progress.Report("last but one");
            // Waiting when the attempt ends: sent before the outcome.
            request.Progress.Report("last");
            return TaskResult.FromText("done");
        });
        var plan = new PlanBuilder("progress").AddTask("long", "remote").Build();

        var run = CoordinatorEngine().Compile(plan).Start(new RunOptions { Dispatcher = cluster.Dispatcher, StreamEvents = true });
        var lines = new List<string?>();
        await foreach (var e in run.ReadEventsAsync())
        {
            if (e.Kind == RunEventKind.TaskOutput)
            {
                lines.Add(e.Message);
            }
        }

        Assert.Equal(RunStatus.Succeeded, (await run.Completion.Within()).Status);
        // In order, the burst cut to its first and last, the last line there; "last but one" may be overtaken by "last"
        // on the way (lines travel one-way), and is then dropped as older than the line shown.
        Assert.Equal(["line 1", "line 4"], lines.Take(2));
        Assert.Equal("last", lines[^1]);
        Assert.True(lines.Count is 3 or 4 && (lines.Count == 3 || lines[2] == "last but one"), string.Join(" | ", lines));
    }

    [Fact]
    public async Task A_silos_slots_for_a_worker_type_hold_whatever_the_runs_workers()
    {
        var running = 0;
        var peak = 0;
        ClusterFixture.Workers["limited"] = new DelegateWorker(async (_, cancellationToken) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await Task.Delay(150, cancellationToken);
            Interlocked.Decrement(ref running);
            return TaskResult.Empty;
        });
        var builder = new PlanBuilder("limited").WithWorkers(6);
        for (var i = 0; i < 6; i++)
        {
            builder.AddTask($"l{i}", "limited");
        }

        var result = await CoordinatorEngine().RunAsync(builder.Build(), new RunOptions { Dispatcher = cluster.Dispatcher }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        // One at a time on each of the two silos: never more than two at once, and both silos used.
        Assert.Equal(2, peak);
        Assert.All(cluster.Dispatcher.Silos, s => Assert.Equal(1, s.WorkerSlots["limited"]));
    }

    [Fact]
    public async Task Tasks_wait_for_busy_silos_longer_than_the_placement_timeout_without_failing()
    {
        ClusterFixture.Workers["limited"] = new DelegateWorker(async (_, cancellationToken) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(1.8), cancellationToken);
            return TaskResult.Empty;
        });
        var builder = new PlanBuilder("queued").WithWorkers(8);
        for (var i = 0; i < 8; i++)
        {
            builder.AddTask($"q{i}", "limited");
        }

        // Two at a time (one per silo): the last two wait 5.4 s for a slot, past the fixture's 5 s placement timeout;
        // busy silos are waited for.
        var result = await CoordinatorEngine().RunAsync(builder.Build(), new RunOptions { Dispatcher = cluster.Dispatcher }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, seen) == seen)
            {
                return;
            }
        }
    }

    [Fact]
    public async Task The_attempts_of_a_coordinator_that_stops_probing_are_cancelled_on_the_silo()
    {
        var started = new TaskCompletionSource();
        var cancelled = new TaskCompletionSource();
        ClusterFixture.Workers["remote"] = new DelegateWorker(async (_, cancellationToken) =>
        {
            started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                cancelled.TrySetResult();
                throw;
            }

            return TaskResult.Empty;
        });
        // A coordinator of its own, which then dies: its probes stop, its call is left waiting.
        var coordinator = new ClusterDispatcher(cluster.Cluster.Client, new ClusterDispatchOptions { ProbeInterval = TimeSpan.FromMilliseconds(200) });
        await coordinator.StartAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var run = CoordinatorEngine().Compile(new PlanBuilder("orphan").AddTask("long", "remote").Build()).Start(new RunOptions { Dispatcher = coordinator }, stop.Token);
        await started.Task.Within();

        await coordinator.DisposeAsync();

        // Cancelled by the silo within its orphan timeout (2 s here), not by the run, which still waits.
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.False(stop.IsCancellationRequested);
        await stop.CancelAsync();
        await run.Completion.Within();
    }

    [Fact]
    public async Task Worker_failures_keep_their_kind_and_cancellation_reaches_the_silo()
    {
        var cancelledOnSilo = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        ClusterFixture.Workers["remote"] = new DelegateWorker(async (request, cancellationToken) =>
        {
            switch (request.TaskId)
            {
                case "fatal":
                    throw new FatalTaskException("bad parameters");
                case "transient":
                    throw new InvalidOperationException("flaky");
                case "greedy":
                    // The plan's memory limit reached the silo with the request.
                    throw new MemoryLimitException($"went over its memory limit of {request.MaxMemoryBytes / (1024 * 1024)} MB", request.MaxMemoryBytes ?? 0);
                default:
                    started.TrySetResult();
                    try
                    {
                        await Task.Delay(Timeout.Infinite, cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        cancelledOnSilo.TrySetResult();
                        throw;
                    }

                    return TaskResult.Empty;
            }
        });
        var plan = new PlanBuilder("failures")
            .WithResources(new ResourceSettings(MaxMemoryMb: 64))
            .AddTask("fatal", "remote")
            .AddTask("greedy", "remote", t => t.Retry(new RetrySettings { MaxAttempts = 3, InitialDelaySeconds = 0, Jitter = false }))
            .AddTask("transient", "remote", t => t.Retry(new RetrySettings { MaxAttempts = 2, InitialDelaySeconds = 0, Jitter = false }))
            .AddTask("slow", "remote", t => t.After("fatal", "transient", "greedy"))
            .Build();

        var run = CoordinatorEngine().Compile(plan).Start(new RunOptions { Dispatcher = cluster.Dispatcher });
        await started.Task.Within();
        run.Cancel();
        var result = await run.Completion.Within();
        await cancelledOnSilo.Task.Within();

        Assert.Equal((TaskRunStatus.Failed, FailureKind.Fatal, 1, "bad parameters"), (result.Tasks[0].Status, result.Tasks[0].FailureKind, result.Tasks[0].Attempts, result.Tasks[0].Error));
        // Over the memory limit on a silo is what it is in one process: memory, not retried.
        Assert.Equal((TaskRunStatus.Failed, FailureKind.Memory, 1, "went over its memory limit of 64 MB"), (result["greedy"].Status, result["greedy"].FailureKind, result["greedy"].Attempts, result["greedy"].Error));
        Assert.Equal((TaskRunStatus.Failed, FailureKind.Transient, 2), (result["transient"].Status, result["transient"].FailureKind, result["transient"].Attempts));
        Assert.Contains("InvalidOperationException: flaky", result["transient"].Error, StringComparison.Ordinal);
        Assert.Equal(TaskRunStatus.Cancelled, result["slow"].Status);
    }

    [Fact]
    public void A_worker_no_silo_provides_is_refused_naming_the_worker_and_the_task()
    {
        var engine = TestEngines.With(null, ("local-only", new DelegateWorker((_, _) => ValueTask.FromResult(TaskResult.Empty))));
        var plan = new PlanBuilder("missing").AddTask("a", "template", t => t.With(new { text = "x" })).AddTask("b", "local-only").Build();

        var error = Assert.Throws<PlanValidationException>(() => engine.Compile(plan).Start(new RunOptions { Dispatcher = cluster.Dispatcher }));

        var problem = Assert.Single(error.Errors);
        Assert.Equal(("PF0008", "b"), (problem.Code, problem.TaskId));
        Assert.Contains("no executor of the cluster provides worker 'local-only'", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_dispatcher_knows_both_silos_their_workers_and_slots()
    {
        var silos = cluster.Dispatcher.Silos;

        Assert.Equal(2, silos.Count);
        Assert.All(silos, s => Assert.Equal(ClusterFixture.SlotsPerSilo, s.Slots));
        Assert.All(silos, s => Assert.Contains("remote", s.Workers));
        Assert.Equal(2 * ClusterFixture.SlotsPerSilo, cluster.Dispatcher.TotalSlots);
    }

    /// <summary>The coordinator's engine: it compiles plans with the same worker types, whose local workers must never run.</summary>
    private static ParallelFlowEngine CoordinatorEngine() =>
        TestEngines.With(null, [.. ClusterFixture.WorkerTypes.Select(type => (type, (ParallelFlowWorker)new DelegateWorker((_, _) => throw new InvalidOperationException($"the coordinator ran a '{type}' task itself"))))]);

    private static async Task WaitFor(Func<bool> condition)
    {
        for (var i = 0; i < 50 && !condition(); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(condition());
    }
}
