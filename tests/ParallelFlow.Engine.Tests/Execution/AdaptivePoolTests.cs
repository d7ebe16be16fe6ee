using CsCheck;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>The adaptive pool: its rule over random loads (grow, hold, shrink, within min..max), and a run on a fake
/// clock with a fake load that grows, sheds without stopping a running task, and reports each change.</summary>
public sealed class AdaptivePoolTests
{
    private const long Gigabyte = 1024L * 1024 * 1024;

    private static LoadSample Load(double cpu, long available = 8 * Gigabyte, long engine = Gigabyte / 10) => new(cpu, available, 16 * Gigabyte, engine, Cores: 2);

    [Fact]
    public void Latency_bound_work_grows_the_pool_to_what_waits_and_cpu_bound_work_holds_it_at_the_cores()
    {
        var pool = new AdaptivePool(true, min: 1, max: 32, cpuThreshold: 0.8, engineLimit: null);

        // Two tasks sleeping: the CPU is idle, 40 wait: all of them up to max.
        var grown = pool.Decide(size: 2, held: false, running: 2, ready: 40, Load(0.03));
        Assert.Equal(32, grown.Size);
        Assert.StartsWith("grow: 40 ready task(s) wait and CPU is at 3%", grown.Reason, StringComparison.Ordinal);
        // As many as wait, no more.
        Assert.Equal(7, pool.Decide(2, false, 2, 5, Load(0.03)).Size);
        // Two tasks computing on two cores: each takes 35% of the machine; a third would pass 80%.
        Assert.Equal((2, null), (pool.Decide(2, false, 2, 40, Load(0.7)).Size, pool.Decide(2, false, 2, 40, Load(0.7)).Reason));
        // Over the threshold, a pool grown past the cores sheds back to them; at the cores it holds.
        var shed = pool.Decide(32, false, 32, 10, Load(0.97));
        Assert.Equal(2, shed.Size);
        Assert.Equal("shrink: CPU 97% is over the threshold of 80%", shed.Reason);
        Assert.Equal(2, pool.Decide(2, false, 2, 10, Load(0.99)).Size);
        // Nothing waits: no change.
        Assert.Null(pool.Decide(4, false, 3, 0, Load(0.01)).Reason);
    }

    [Fact]
    public void Low_memory_sheds_a_quarter_at_a_time_and_the_engines_own_limit_holds_new_tasks()
    {
        var pool = new AdaptivePool(true, min: 2, max: 16, cpuThreshold: 0.8, engineLimit: Gigabyte);

        var shed = pool.Decide(16, false, 16, 5, Load(0.1, available: 100 * 1024 * 1024));
        Assert.Equal(12, shed.Size);
        Assert.Equal("shrink: available memory 100 MB is under the floor of 512 MB", shed.Reason);
        Assert.Equal(2, pool.Decide(2, false, 2, 5, Load(0.1, available: 1)).Size);

        // What the engine grows by since the first reading counts (it started at 100 MB in the readings above).
        var held = pool.Decide(4, false, 4, 5, Load(0.1, engine: 2 * Gigabyte));
        Assert.Equal((4, true), (held.Size, held.Held));
        Assert.Equal("new tasks held: the engine grew by 1945 MB since the run started, over resources.max_memory_mb (1024 MB)", held.Reason);
        Assert.False(pool.Decide(4, false, 4, 5, Load(0.1, engine: Gigabyte)).Held);
        var released = pool.Decide(4, true, 1, 5, Load(0.1));
        Assert.False(released.Held);
        Assert.StartsWith("new tasks start again", released.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Any_sequence_of_loads_keeps_the_pool_in_range_and_grows_or_shrinks_only_for_its_reasons()
    {
        Gen.Select(Gen.Int[1, 8], Gen.Int[1, 40], Gen.Select(Gen.Double[0, 1], Gen.Int[0, 50], Gen.Int[0, 40], Gen.Bool).Array[1, 40])
            .Sample((min, span, steps) =>
            {
                var max = min + span;
                var pool = new AdaptivePool(true, min, max, 0.8, engineLimit: null);
                var size = min;
                foreach (var (cpu, ready, running, lowMemory) in steps)
                {
                    var load = Load(cpu, available: lowMemory ? 1 : 8 * Gigabyte);
                    var next = pool.Decide(size, false, Math.Min(running, size), ready, load).Size;
                    Assert.InRange(next, min, max);
                    if (next > size)
                    {
                        Assert.True(cpu <= 0.8 && ready > 0 && !lowMemory, $"grew {size} → {next} at CPU {cpu}, {ready} ready");
                        Assert.True(next <= Math.Min(running, size) + ready, "grew past what waits");
                    }

                    if (next < size)
                    {
                        Assert.True(cpu > 0.8 || lowMemory, $"shrank {size} → {next} at CPU {cpu}");
                    }

                    size = next;
                }
            });
    }

    [Fact]
    public async Task A_run_grows_when_its_tasks_wait_and_sheds_at_task_boundaries_without_stopping_a_running_one()
    {
        var clock = new ObservedClock();
        var load = new FakeLoad { Cpu = 0.02 };
        var gated = new GatedWorker();
        var builder = new PlanBuilder("adaptive").WithParallelism(new ParallelismSettings(MinWorkers: 1, MaxWorkers: 6) { Adaptive = true });
        for (var i = 0; i < 10; i++)
        {
            builder.AddTask($"t{i}", "gated");
        }

        var catalog = BuiltInWorkers.CreateCatalog(clock);
        catalog.AddWorker("gated", gated);
        var engine = new ParallelFlowEngine(new EngineOptions { Catalog = catalog, TimeProvider = clock });
        var run = engine.Compile(builder.Build()).Start(new RunOptions { Workers = 2, StreamEvents = true, LoadSource = load });

        // Starts at 2; the first reading finds the CPU idle and eight tasks waiting: the pool grows to its max.
        await gated.Started("t0").Within();
        await gated.Started("t1").Within();
        Assert.Equal(2, gated.StartOrder.Count);
        clock.Advance(AdaptivePool.AdaptiveInterval);
        for (var i = 2; i < 6; i++)
        {
            await gated.Started($"t{i}").Within();
        }

        Assert.Equal(6, run.Workers);

        // The machine is busy now: the pool sheds to the cores, but the six running tasks go on.
        load.Cpu = 0.99;
        clock.Advance(AdaptivePool.AdaptiveInterval);
        Assert.Equal(2, run.Workers);
        load.Cpu = 0.02;
        for (var i = 0; i < 10; i++)
        {
            gated.Release($"t{i}");
        }

        var result = await WhenDone(run, clock);
        var events = await run.ReadEventsAsync().ToListAsync().AsTask().Within();

        // Replayed in the order the run recorded them: no task took a worker while the pool was full, and the shrink
        // stopped none of the six that were running (all succeeded).
        var (size, running) = (2, 0);
        foreach (var e in events)
        {
            switch (e.Kind)
            {
                case RunEventKind.PoolResized:
                    size = e.Worker;
                    break;
                case RunEventKind.WorkerBusy:
                    Assert.True(running < size, $"{e.TaskId} started with {running} running in a pool of {size}");
                    running++;
                    break;
                case RunEventKind.TaskFinished:
                    running--;
                    break;
            }
        }

        Assert.All(result.Tasks, t => Assert.Equal(TaskRunStatus.Succeeded, t.Status));
        Assert.True(result.PeakConcurrency <= 6);
        var pool = result.Pool!;
        Assert.True(pool.Adaptive);
        Assert.Equal((1, 6, 6), (pool.Min, pool.Max, pool.Peak));
        Assert.Equal((2, 6), (pool.Resizes[0].From, pool.Resizes[0].To));
        Assert.StartsWith("shrink: CPU 99%", pool.Resizes[1].Reason, StringComparison.Ordinal);
        var resized = events.Where(e => e.Kind == RunEventKind.PoolResized).ToList();
        Assert.Equal(pool.Resizes.Count, resized.Count);
        Assert.Equal("2 → 6 workers: grow: 8 ready task(s) wait and CPU is at 2%", resized[0].Message);
        Assert.Equal(6, result.Workers);
    }

    [Fact]
    public void Adaptive_is_read_from_the_plan_and_a_cpu_threshold_is_no_longer_a_warning()
    {
        var plan = PlanLoader.Parse("""
            { "parallelism": { "min_workers": 2, "max_workers": 20, "adaptive": true },
              "resources": { "cpu_threshold": 0.7, "max_memory_mb": 512 },
              "tasks": [ { "id": "a", "worker": "simulate" } ] }
            """, PlanFormat.Json);

        Assert.True(plan.Parallelism.Adaptive);
        Assert.Equal((0.7, 512.0), (plan.Resources.CpuThreshold, plan.Resources.MaxMemoryMb));
        Assert.Empty(plan.Warnings);
    }

    /// <summary>Keeps the clock moving in pool ticks until the run ends (its last tasks may start on a tick).</summary>
    private static async Task<RunResult> WhenDone(FlowRun run, ObservedClock clock)
    {
        for (var i = 0; i < 200 && !run.Completion.IsCompleted; i++)
        {
            await Task.Delay(10);
            clock.Advance(AdaptivePool.AdaptiveInterval);
        }

        return await run.Completion.Within();
    }

    private sealed class FakeLoad : ILoadSource
    {
        public double Cpu { get; set; }

        // A two-core machine, whatever this one has.
        public LoadSample Sample() => new(Cpu, 8 * Gigabyte, 16 * Gigabyte, Gigabyte / 10, Cores: 2);
    }
}
