using System.Collections.Concurrent;
using CsCheck;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>A pool shared by concurrent runs: its limits hold across every run, each run's own limits inside, runs
/// share it fairly, and a full pool queues runs up to a bound.</summary>
public sealed class PoolTests
{
    [Fact]
    public Task Concurrent_runs_of_random_graphs_never_pass_the_pools_limits_and_all_finish() =>
        Gen.Select(Gen.Int[1, 4], Gen.Int[1, 3], Gen.Int[2, 5], Gen.Int).SampleAsync(async (workers, alphaLimit, runCount, seed) =>
        {
            var tracker = new Tracker();
            var catalog = BuiltInWorkers.CreateCatalog();
            foreach (var type in RandomDag.WorkerTypes)
            {
                catalog.AddWorker(type, new TrackedWorker(type, tracker));
            }

            var engine = new ParallelFlowEngine(new EngineOptions { Catalog = catalog });
            var pool = new ParallelFlowPool(new PoolOptions { Workers = workers, Limits = new Dictionary<string, int> { ["alpha"] = alphaLimit } });
            var dags = Enumerable.Range(0, runCount).Select(i => RandomDag.Create(1 + ((seed + i) & 31), seed + i, 1 + (i % 4), failureRate: 0)).ToList();

            var results = await Task.WhenAll(dags.Select(dag => engine.Compile(dag.ToPlan()).RunAsync(new RunOptions { Pool = pool }))).Within();

            Assert.All(results, r => Assert.Equal(RunStatus.Succeeded, r.Status));
            Assert.Equal(dags.Sum(d => d.Count), tracker.Executions);
            Assert.True(tracker.Peak <= workers, $"{tracker.Peak} tasks ran at once in a pool of {workers}");
            Assert.True(tracker.PeakOf("alpha") <= alphaLimit, $"{tracker.PeakOf("alpha")} alpha tasks at once, the pool's limit is {alphaLimit}");
            Assert.Equal((0, 0, 0), (pool.RunningTasks, pool.ActiveRuns, pool.QueuedRuns));
            Assert.True(pool.Uncontended, "no run waits once every run has ended");
        }, iter: 60);

    [Fact]
    public Task Concurrent_runs_of_one_worker_type_share_the_pool_in_the_lane_and_each_task_ends_as_its_dependencies_say() =>
        Gen.Select(Gen.Int[1, 3], Gen.Int[2, 5], Gen.Int).SampleAsync(async (workers, runCount, seed) =>
        {
            // Plans of one worker type in the critical-path order: each run schedules its successes in the lock-free
            // lane, keeping its workers (and their slots) while no other run waits, and takes the rest in steps. Some
            // tasks answer at once and some later; some fail, and their dependents are skipped.
            var tracker = new Tracker();
            var catalog = BuiltInWorkers.CreateCatalog();
            catalog.AddWorker("alpha", new OneTypeWorker(tracker));
            var engine = new ParallelFlowEngine(new EngineOptions { Catalog = catalog });
            var pool = new ParallelFlowPool(new PoolOptions { Workers = workers });
            var plans = Enumerable.Range(0, runCount).Select(i =>
            {
                var random = new Random(seed + i);
                var count = random.Next(1, 80);
                var predecessors = RandomDag.Predecessors(random, count, edges: 2.0);
                var fails = Enumerable.Range(0, count).Select(_ => random.NextDouble() < 0.08).ToArray();
                var answersLater = Enumerable.Range(0, count).Select(_ => random.Next(2) == 0).ToArray();
                var builder = new PlanBuilder($"one-type-{i}").WithWorkers(random.Next(1, 4));
                for (var t = 0; t < count; t++)
                {
                    var task = t;
                    builder.AddTask($"t{task}", "alpha", b => b.DependsOn([.. predecessors[task].Select(p => $"t{p}")])
                        .With(new { fail = fails[task], later = answersLater[task] }));
                }

                return (Plan: builder.Build(), Predecessors: predecessors, Fails: fails);
            }).ToList();

            var results = await Task.WhenAll(plans.Select(p => engine.Compile(p.Plan).RunAsync(new RunOptions { Pool = pool }))).Within();

            for (var i = 0; i < runCount; i++)
            {
                var runs = RandomDag.RunsOf(plans[i].Predecessors, plans[i].Fails);
                var expected = runs.Select((r, t) => !r ? TaskRunStatus.Skipped : plans[i].Fails[t] ? TaskRunStatus.Failed : TaskRunStatus.Succeeded);
                Assert.Equal(expected, results[i].Tasks.Select(t => t.Status));
                results[i].Dispose();
            }

            Assert.True(tracker.Peak <= workers, $"{tracker.Peak} tasks ran at once in a pool of {workers}");
            Assert.Equal((0, 0, 0), (pool.RunningTasks, pool.ActiveRuns, pool.QueuedRuns));
            Assert.True(pool.Uncontended, "no run waits once every run has ended");
        }, iter: 80);

    [Fact]
    public async Task A_short_run_started_beside_a_long_one_gets_its_share_at_the_next_free_slot()
    {
        var (gated, engine) = GatedEngine("hold");
        var pool = new ParallelFlowPool(new PoolOptions { Workers = 2 });
        var longRun = engine.Compile(Independent("long", 10_000)).Start(new RunOptions { Pool = pool });
        var started = new List<string> { await gated.NextStartedAsync().Within(), await gated.NextStartedAsync().Within() };
        var shortRun = engine.Compile(Independent("short", 3)).Start(new RunOptions { Pool = pool });

        // The test finishes the tasks in the order they started, one at a time: each frees one slot, and exactly one
        // task starts in it, until the short run is done.
        var released = 0;
        while (started.Take(released).Count(id => id.StartsWith("short", StringComparison.Ordinal)) < 3)
        {
            gated.Release(started[released++]);
            started.Add(await gated.NextStartedAsync().Within());
        }

        var shortResult = await shortRun.Completion.Within();
        longRun.Cancel();
        var longResult = await longRun.Completion.Within();

        // Fair sharing: the short run's first task takes the first slot freed, and from then on the two runs hold one
        // slot each, so its three tasks are done once seven slots were freed (its three and the long run's four, in
        // turn) — where first come, first served would have had it wait for all 10,000 — while 9,990+ of the long
        // run's tasks still wait.
        Assert.StartsWith("short", started[2], StringComparison.Ordinal);
        Assert.True(released <= 7, $"the short run finished only after {released} slots were freed");
        Assert.Equal(RunStatus.Succeeded, shortResult.Status);
        Assert.True(longResult.Tasks.Count(t => t.Status == TaskRunStatus.Cancelled) >= 9_990);
    }

    [Fact]
    public async Task A_slot_a_run_gives_back_is_its_own_next_task_s_when_it_holds_fewer_than_the_runs_waiting()
    {
        var (gated, engine) = GatedEngine("hold");
        var pool = new ParallelFlowPool(new PoolOptions { Workers = 2 });
        var longRun = engine.Compile(Independent("long", 10_000)).Start(new RunOptions { Pool = pool });
        var started = new List<string> { await gated.NextStartedAsync().Within(), await gated.NextStartedAsync().Within() };

        // A chain: each of its tasks is made ready only by the end of the one before, so the run never waits for a
        // slot while its task runs. The slot its task gives back is still its own, for the next, against a run that
        // holds more and waits (the long run, refused at every dispatch since the pool filled).
        const int Links = 200;
        var builder = new PlanBuilder("chain").AddTask("chain-0", "hold");
        for (var i = 1; i < Links; i++)
        {
            builder.AddTask($"chain-{i}", "hold", t => t.DependsOn($"chain-{i - 1}"));
        }

        var chain = engine.Compile(builder.Build()).Start(new RunOptions { Pool = pool });
        gated.Release(started[0]);
        started.Add(await gated.NextStartedAsync().Within());
        Assert.Equal("chain-0", started[2]);

        // From here each run holds one slot. The test ends the older of the two running tasks, one at a time: the run
        // whose task ended holds none, fewer than the other, and its next task takes the slot.
        var running = new List<string> { started[1], started[2] };
        for (var link = 1; link < Links;)
        {
            var ending = running[0];
            running.RemoveAt(0);
            gated.Release(ending);
            var next = await gated.NextStartedAsync().Within();
            var expected = ending.StartsWith("chain", StringComparison.Ordinal) ? $"chain-{link++}" : "long-";
            Assert.True(next.StartsWith(expected, StringComparison.Ordinal),
                $"{ending} gave its slot back and {next} took it; the slot was {(expected == "long-" ? "the long run's" : expected + "'s")}");
            running.Add(next);
        }

        gated.Release($"chain-{Links - 1}");
        Assert.Equal(RunStatus.Succeeded, (await chain.Completion.Within()).Status);
        await CancelAsync(longRun);
    }

    [Fact]
    public async Task A_run_keeps_its_slot_for_a_tasks_one_dependent_only_while_no_run_waits_for_one()
    {
        var (gated, engine) = GatedEngine("hold");
        var pool = new ParallelFlowPool(new PoolOptions { Workers = 2 });

        // Two chains in one run of one worker type: it holds both slots, and each task's end makes exactly one task
        // ready, which the run keeps its worker and slot for, without a step, while no other run waits.
        var builder = new PlanBuilder("chains");
        foreach (var name in new[] { "a", "b" })
        {
            builder.AddTask($"{name}-0", "hold");
            for (var i = 1; i < 4; i++)
            {
                builder.AddTask($"{name}-{i}", "hold", t => t.DependsOn($"{name}-{i - 1}"));
            }
        }

        var chains = engine.Compile(builder.Build()).Start(new RunOptions { Pool = pool });
        var started = new HashSet<string> { await gated.NextStartedAsync().Within(), await gated.NextStartedAsync().Within() };
        Assert.Equal(["a-0", "b-0"], started.Order());
        Assert.True(pool.Uncontended);
        gated.Release("a-0");
        Assert.Equal("a-1", await gated.NextStartedAsync().Within());

        // A run that holds none now waits for a slot (its first step, taken as it starts on this thread, was refused
        // one): the next task to end gives its slot back to the pool in a step, and the waiting run, holding fewer,
        // takes it, ahead of that task's dependent.
        var other = engine.Compile(Independent("other", 1)).Start(new RunOptions { Pool = pool });
        Assert.False(pool.Uncontended);
        gated.Release("b-0");
        Assert.Equal("other-0", await gated.NextStartedAsync().Within());
        gated.Release("other-0");
        Assert.Equal(RunStatus.Succeeded, (await other.Completion.Within()).Status);
        Assert.Equal("b-1", await gated.NextStartedAsync().Within());

        foreach (var id in new[] { "a-1", "a-2", "a-3", "b-1", "b-2", "b-3" })
        {
            gated.Release(id);
        }

        Assert.Equal(RunStatus.Succeeded, (await chains.Completion.Within()).Status);
        Assert.True(pool.Uncontended, "no run waits once every run has ended");
        Assert.Equal((0, 0), (pool.RunningTasks, pool.ActiveRuns));
    }

    [Fact]
    public async Task A_plugin_strategys_comparisons_never_run_under_the_pools_lock()
    {
        // A run's ready tasks are taken in its strategy's order between its requests for slots: a plugin's comparison,
        // slow or calling back into the engine (cancelling another run of the pool, say), must not hold up every run.
        var pool = new ParallelFlowPool(new PoolOptions { Workers = 2 });
        var strategy = new PoolWatchingStrategy(pool);
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("alpha", new OneTypeWorker(new Tracker()));
        catalog.AddStrategy("watching", strategy);
        var engine = new ParallelFlowEngine(new EngineOptions { Catalog = catalog });
        var builder = new PlanBuilder("wide").WithWorkers(2);
        for (var i = 0; i < 40; i++)
        {
            builder.AddTask($"t{i}", "alpha", t => t.With(new { fail = false, later = true }));
        }

        var compiled = engine.Compile(builder.Build());
        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => compiled.RunAsync(new RunOptions { Pool = pool, Strategy = "watching" }))).Within();

        Assert.All(results, r => Assert.Equal(RunStatus.Succeeded, r.Status));
        Assert.True(strategy.Comparisons > 100, $"only {strategy.Comparisons} comparisons");
        Assert.Equal(0, strategy.UnderPoolLock);
    }

    [Fact]
    public async Task A_run_refused_by_a_worker_types_limit_gets_the_next_slot_once_that_type_has_room()
    {
        var (gated, engine) = GatedEngine("llm", "cpu");
        var pool = new ParallelFlowPool(new PoolOptions { Workers = 2, Limits = new Dictionary<string, int> { ["llm"] = 1 } });
        var builder = new PlanBuilder("long").AddTask("long-llm", "llm");
        for (var i = 0; i < 50; i++)
        {
            builder.AddTask($"long-cpu-{i}", "cpu");
        }

        var longRun = engine.Compile(builder.Build()).Start(new RunOptions { Pool = pool });
        Assert.Equal(["long-cpu-0", "long-llm"], new[] { await gated.NextStartedAsync().Within(), await gated.NextStartedAsync().Within() }.Order());
        var shortRun = engine.Compile(new PlanBuilder("short").AddTask("short-llm-0", "llm").AddTask("short-llm-1", "llm").Build()).Start(new RunOptions { Pool = pool });

        // The short run holds nothing and waits. The first slot freed (a cpu task's) is offered to it, but the llm limit
        // refuses it: it now waits for an llm slot only, and the long run takes the cpu slot back.
        gated.Release("long-cpu-0");
        Assert.Equal("long-cpu-1", await gated.NextStartedAsync().Within());

        // The llm task ends: the pool has a free slot and llm has room. The long run, which holds more, still has cpu
        // tasks to start, but the slot is the short run's.
        gated.Release("long-llm");
        Assert.Equal("short-llm-0", await gated.NextStartedAsync().Within());

        gated.Release("short-llm-0");
        Assert.Equal("short-llm-1", await gated.NextStartedAsync().Within());
        gated.Release("short-llm-1");
        Assert.Equal(RunStatus.Succeeded, (await shortRun.Completion.Within()).Status);
        await CancelAsync(longRun);
    }

    [Fact]
    public async Task Runs_refused_by_a_worker_type_at_its_limit_sleep_until_it_has_room()
    {
        var (gated, engine) = GatedEngine("llm");
        var pool = new ParallelFlowPool(new PoolOptions { Workers = 8, Limits = new Dictionary<string, int> { ["llm"] = 1 } });
        var holder = engine.Compile(new PlanBuilder("holder").AddTask("holder-0", "llm").Build()).Start(new RunOptions { Pool = pool });
        Assert.Equal("holder-0", await gated.NextStartedAsync().Within());

        // Two runs of llm tasks, refused by its limit while the pool has free slots. Each run's first step is taken
        // as it starts, on this thread; a refused run must wait without waking the other to be refused in turn.
        var first = engine.Compile(new PlanBuilder("first").AddTask("first-0", "llm").Build()).Start(new RunOptions { Pool = pool });
        var second = engine.Compile(new PlanBuilder("second").AddTask("second-0", "llm").Build()).Start(new RunOptions { Pool = pool });
        var wakes = pool.Wakes;

        // A liveness check, not a timing one: two runs that wake each other do so thousands of times in this window.
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        Assert.True(pool.Wakes - wakes <= 2, $"the runs waiting for llm were woken {pool.Wakes - wakes} times while it had no room");
        Assert.Equal(["holder-0"], gated.StartOrder);

        // Room for llm: both are woken, one gets it, and the other once that one's task ends.
        gated.Release("holder-0");
        var next = await gated.NextStartedAsync().Within();
        Assert.Contains(next, new[] { "first-0", "second-0" });
        gated.Release(next);
        var last = await gated.NextStartedAsync().Within();
        Assert.Equal(next == "first-0" ? "second-0" : "first-0", last);
        gated.Release(last);
        Assert.All(await Task.WhenAll(holder.Completion, first.Completion, second.Completion).Within(), r => Assert.Equal(RunStatus.Succeeded, r.Status));
    }

    [Fact]
    public async Task Runs_beyond_the_active_limit_queue_a_full_queue_refuses_and_a_queued_run_can_be_cancelled()
    {
        var (gated, engine) = GatedEngine("hold");
        var pool = new ParallelFlowPool(new PoolOptions { Workers = 4, MaxActiveRuns = 1, MaxQueuedRuns = 2 });

        var first = engine.Compile(Independent("first", 1)).Start(new RunOptions { Pool = pool });
        await gated.Started("first-0").Within();
        var second = engine.Compile(Independent("second", 1)).Start(new RunOptions { Pool = pool });
        using var cancelThird = new CancellationTokenSource();
        var third = engine.Compile(Independent("third", 1)).Start(new RunOptions { Pool = pool }, cancelThird.Token);
        var full = Assert.Throws<ParallelFlowPoolFullException>(() => engine.Compile(Independent("fourth", 1)).Start(new RunOptions { Pool = pool }));

        Assert.Equal((1, 2), (pool.ActiveRuns, pool.QueuedRuns));
        Assert.Equal("the pool is full: 1 runs are under way (MaxActiveRuns) and 2 wait (MaxQueuedRuns); start the run later", full.Message);
        Assert.False(second.Completion.IsCompleted);

        await cancelThird.CancelAsync();
        Assert.Equal(RunStatus.Cancelled, (await third.Completion.Within()).Status);
        Assert.DoesNotContain("third-0", gated.StartOrder);
        // It left the queue and took no place: the first run still runs alone, the second still waits.
        Assert.Equal((1, 1), (pool.ActiveRuns, pool.QueuedRuns));

        // A queued run cancelled through the run (not its token) leaves the queue too.
        var fifth = engine.Compile(Independent("fifth", 1)).Start(new RunOptions { Pool = pool });
        Assert.Equal(2, pool.QueuedRuns);
        fifth.Cancel();
        Assert.Equal(RunStatus.Cancelled, (await fifth.Completion.Within()).Status);
        Assert.Equal((1, 1), (pool.ActiveRuns, pool.QueuedRuns));

        // A run whose token is cancelled before it starts is not queued at all.
        var already = engine.Compile(Independent("already", 1)).Start(new RunOptions { Pool = pool }, new CancellationToken(canceled: true));
        Assert.Equal(RunStatus.Cancelled, (await already.Completion.Within()).Status);
        Assert.Equal((1, 1), (pool.ActiveRuns, pool.QueuedRuns));

        gated.Release("first-0");
        await gated.Started("second-0").Within();
        gated.Release("second-0");
        var results = await Task.WhenAll(first.Completion, second.Completion).Within();
        Assert.Equal([RunStatus.Succeeded, RunStatus.Succeeded], results.Select(r => r.Status));
        Assert.Equal((0, 0), (pool.ActiveRuns, pool.QueuedRuns));
    }

    /// <summary>An engine whose workers of the given types are one gated worker: each task runs until the test releases it.</summary>
    private static (GatedWorker Gated, ParallelFlowEngine Engine) GatedEngine(params string[] workerTypes)
    {
        var gated = new GatedWorker();
        var catalog = BuiltInWorkers.CreateCatalog();
        foreach (var type in workerTypes)
        {
            catalog.AddWorker(type, gated);
        }

        return (gated, new ParallelFlowEngine(new EngineOptions { Catalog = catalog }));
    }

    /// <summary>Cancels a run the test left running, and checks it ends cancelled.</summary>
    private static async Task CancelAsync(FlowRun run)
    {
        run.Cancel();
        Assert.Equal(RunStatus.Cancelled, (await run.Completion.Within()).Status);
    }

    private static PlanDefinition Independent(string prefix, int count)
    {
        var builder = new PlanBuilder(prefix);
        for (var i = 0; i < count; i++)
        {
            builder.AddTask($"{prefix}-{i}", "hold");
        }

        return builder.Build();
    }

    /// <summary>Counts tasks running at once across every run, in all and by worker type.</summary>
    private sealed class Tracker
    {
        private readonly ConcurrentDictionary<string, int> _byType = new();
        private readonly ConcurrentDictionary<string, int> _peakByType = new();
        private int _running;
        private int _peak;
        private int _executions;

        public int Peak => Volatile.Read(ref _peak);

        public int Executions => Volatile.Read(ref _executions);

        public int PeakOf(string type) => _peakByType.GetValueOrDefault(type);

        public void Enter(string type)
        {
            Interlocked.Increment(ref _executions);
            var now = Interlocked.Increment(ref _running);
            InterlockedMax(ref _peak, now);
            var typed = _byType.AddOrUpdate(type, 1, (_, n) => n + 1);
            _peakByType.AddOrUpdate(type, typed, (_, peak) => Math.Max(peak, typed));
        }

        public void Leave(string type)
        {
            _byType.AddOrUpdate(type, 0, (_, n) => n - 1);
            Interlocked.Decrement(ref _running);
        }

        private static void InterlockedMax(ref int target, int value)
        {
            for (var current = Volatile.Read(ref target); value > current; current = Volatile.Read(ref target))
            {
                if (Interlocked.CompareExchange(ref target, value, current) == current)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Plan order, counting its comparisons and those made while this thread held the pool's lock.</summary>
    private sealed class PoolWatchingStrategy(ParallelFlowPool pool) : ParallelFlowStrategy
    {
        private int _comparisons;
        private int _underPoolLock;

        public int Comparisons => Volatile.Read(ref _comparisons);

        public int UnderPoolLock => Volatile.Read(ref _underPoolLock);

        public override int Compare(in ReadyTask x, in ReadyTask y)
        {
            Interlocked.Increment(ref _comparisons);
            if (pool.IsLockHeldByCurrentThread)
            {
                Interlocked.Increment(ref _underPoolLock);
            }

            return x.Index.CompareTo(y.Index);
        }
    }

    /// <summary>A worker of the one type "alpha", tracked: it answers at once or after yielding its thread
    /// (<c>later</c>), and fails when told to (<c>fail</c>).</summary>
    private sealed class OneTypeWorker(Tracker tracker) : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            tracker.Enter("alpha");
            var fails = request.With.GetProperty("fail").GetBoolean();
            if (!request.With.GetProperty("later").GetBoolean())
            {
                tracker.Leave("alpha");
                return fails ? ValueTask.FromException<TaskResult>(new InvalidOperationException("told to fail")) : ValueTask.FromResult(TaskResult.FromText(request.TaskId));
            }

            return LaterAsync(request.TaskId, fails);
        }

        private async ValueTask<TaskResult> LaterAsync(string taskId, bool fails)
        {
            try
            {
                await Task.Yield();
                return fails ? throw new InvalidOperationException("told to fail") : TaskResult.FromText(taskId);
            }
            finally
            {
                tracker.Leave("alpha");
            }
        }
    }

    private sealed class TrackedWorker(string type, Tracker tracker) : ParallelFlowWorker
    {
        public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            tracker.Enter(type);
            try
            {
                await Task.Yield();
                return TaskResult.FromText(request.TaskId);
            }
            finally
            {
                tracker.Leave(type);
            }
        }
    }
}
