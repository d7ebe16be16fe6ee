using System.Threading.Tasks.Dataflow;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine;

/// <summary>
/// Runs the engine's own paths once on a thread-pool thread — a small plan of no-work tasks, compiled and run with
/// events streamed and attempts recorded — so that a process's first real run finds them compiled and initialised.
/// A fresh .NET process pays for its first run of anything: just-in-time compilation, type loading, the first calls
/// through stubs (about 20 ms for a 1,000-task chain here, against 1–1.5 ms warm). Started while a plan is being read
/// and checked, it overlaps that work instead of adding to the first run.
/// </summary>
/// <remarks>
/// Compiled is not optimised: the runtime first compiles a method quickly (or uses its ReadyToRun code), and recompiles
/// it optimised only after it has been called 30 times once the process's start-up has quietened (no new method
/// compiled for 100 ms). The first pass is over by then, so a process's first real runs count those calls, on code two
/// to four times slower per task than the same process's later runs. A process that lives on (a host, a service) asks
/// for more with <see cref="Start(bool)"/>: after the first pass, the warm-up runs its plans again, 40 times each, a
/// quarter of a second, one second and three seconds later (a few milliseconds of one core each time), so that the
/// runtime recompiles the engine's per-task and per-run code in the background, and the service's first run after its
/// start-up finds it optimised. A command, whose runs come at once and whose measurements the passes would disturb,
/// does not.
/// </remarks>
public static class EngineWarmUp
{
    // When the passes that get the engine's code recompiled optimised run, each after the one before.
    private static readonly TimeSpan[] OptimisingPasses = [TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)];

    // Runs of each plan in such a pass: more than the 30 calls after which the runtime recompiles a method, for the
    // methods called once per run.
    private const int RunsPerPass = 40;

    // Started in no caller's context: its runs take no Activity, scope or other AsyncLocal value of the code that asked.
    // Its result: the warm-up's plans, for the later passes; null when the first pass failed.
    private static readonly Lazy<Task<WarmUpPlans?>> FirstPass = new(() => Unflowed(() => Task.Run(RunAsync)));

    private static Task _optimised = Task.CompletedTask;
    private static int _optimising;

    /// <summary>Starts the warm-up's first pass once per process; later calls return the same task. Never throws: a
    /// warm-up that fails leaves the engine as cold as it was.</summary>
    /// <returns>A task that completes when the first pass is done.</returns>
    public static Task Start() => FirstPass.Value;

    /// <summary>Starts the warm-up's first pass as <see cref="Start()"/> does and, with <paramref name="optimise"/>, the
    /// later passes after it (see the remarks), once per process: for a process that lives on, whose runs should find
    /// the engine's code optimised. <c>AddParallelFlow</c>'s hosted service asks for them.</summary>
    /// <param name="optimise">Whether to run the later passes too, in the background.</param>
    /// <returns>A task that completes when the first pass is done.</returns>
    public static Task Start(bool optimise)
    {
        var first = FirstPass.Value;
        if (optimise && Interlocked.Exchange(ref _optimising, 1) == 0)
        {
            Volatile.Write(ref _optimised, Unflowed(() => Task.Run(() => OptimiseAsync(first))));
        }

        return first;
    }

    /// <summary>Starts work in no caller's context: <paramref name="start"/> runs with the flow of the execution context
    /// suppressed (unless the caller has suppressed it already: suppressing it twice throws).</summary>
    private static T Unflowed<T>(Func<T> start)
    {
        if (ExecutionContext.IsFlowSuppressed())
        {
            return start();
        }

        using (ExecutionContext.SuppressFlow())
        {
            return start();
        }
    }

    /// <summary>Whether the first pass compiled and ran its plans (false when it failed, and left the engine cold).</summary>
    internal static async Task<bool> RanAsync() => await FirstPass.Value.ConfigureAwait(false) is not null;

    /// <summary>The later passes (see the remarks), once asked for: complete a few seconds after the first, at once when
    /// the process does not recompile code, and never fault.</summary>
    internal static Task Optimised => Volatile.Read(ref _optimised);

    private static async Task<WarmUpPlans?> RunAsync()
    {
        WarmUpPlans plans;
        try
        {
            // The run's clock (the processor's counter where the machine has it): its setup reads the kernel's clock
            // source and maps a page, a few milliseconds in a new process, here and not in a run.
            System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(CycleClock).TypeHandle);
            plans = WarmUpPlans.Compile();

            // The engine's telemetry: its meter and instruments are made, and the checks a measured run makes compiled,
            // without a measurement or a span (the runs below are unmeasured). Made in a real run's first step, they
            // were most of what that run paid over a warm one (several milliseconds: the meter's first instruments).
            System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(Diagnostics.EngineTelemetry).TypeHandle);
            _ = Diagnostics.EngineTelemetry.MeasuresTasks | Diagnostics.EngineTelemetry.MeasuresGauges | Diagnostics.EngineTelemetry.IsTracing |
                Diagnostics.EngineTelemetry.MeasuresQueueWait;
            await plans.RunAsync(mixedRuns: 4, laneRuns: 3).ConfigureAwait(false);

            // A plan keeps one executor between runs, and completes the blocks of any other: an executor given back
            // late, or one made for other limits. Their completion is Dataflow code of its own, compiled here rather
            // than on a thread pool thread during a later run.
            var block = new ActionBlock<int>(_ => Task.CompletedTask, new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = 2, BoundedCapacity = 4, EnsureOrdered = false });
            _ = block.Post(0);
            block.Complete();
            await block.Completion.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A warm-up is an optimisation: whatever goes wrong in it changes nothing else.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }

        return plans;
    }

    /// <summary>The later passes (see the remarks), after the first.</summary>
    private static async Task OptimiseAsync(Task<WarmUpPlans?> firstPass)
    {
        if (await firstPass.ConfigureAwait(false) is not { } plans || !RecompilesCode())
        {
            return;
        }

        try
        {
            foreach (var wait in OptimisingPasses)
            {
                await Task.Delay(wait).ConfigureAwait(false);
                await plans.RunAsync(RunsPerPass, RunsPerPass).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // As the first pass: an optimisation, which changes nothing else when it fails.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Whether the runtime recompiles methods once they are called often (tiered compilation, on unless the
    /// application or the environment turns it off).</summary>
    private static bool RecompilesCode()
    {
        if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeCompiled)
        {
            // Natively compiled: its code is final.
            return false;
        }

        if (AppContext.TryGetSwitch("System.Runtime.TieredCompilation", out var tiered) && !tiered)
        {
            return false;
        }

        var environment = Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") ?? Environment.GetEnvironmentVariable("COMPlus_TieredCompilation");
        return environment?.Trim() != "0";
    }

    /// <summary>The warm-up's two plans, compiled once.</summary>
    /// <param name="Mixed">Two tasks of one worker type after a fan-out, then a join of another: the inline path, a
    /// hand-over to the executor, a dependency's output, retries' pipeline, the ready queues of the default strategy,
    /// the events, a pool's slots.</param>
    /// <param name="Lane">One worker type: a run nobody watches then schedules its successes in the lock-free lane
    /// (FlowRun.Lane). A fan-out wider than the workers, so that ready tasks wait in the lane's set and are taken from
    /// it, then a chain, handed from task to task. More than 64 tasks: the set's bitmap then has a summary level, as a
    /// real plan's has.</param>
    private sealed record WarmUpPlans(CompiledPlan Mixed, CompiledPlan Lane)
    {
        // The warm-up's own pool: its runs share no limit with the process's.
        private static readonly ParallelFlowPool Pool = new(new PoolOptions { Workers = 2 });

        // A zero-second task's parameters (a JsonElement: nothing here serialises by reflection, which a natively
        // compiled host does not have, and where the warm-up would fail and leave the engine cold).
        private static readonly System.Text.Json.JsonElement NoWork = Diagnostics.EngineJson.Element(new System.Text.Json.Nodes.JsonObject { ["seconds"] = 0 });

        public static WarmUpPlans Compile()
        {
            var mixed = new PlanBuilder("warm-up")
                .AddTask("a", "simulate", t => t.With(NoWork))
                .AddTask("b", "simulate", t => t.DependsOn("a").With(NoWork))
                .AddTask("c", "simulate", t => t.DependsOn("a").With(NoWork))
                .AddTask("d", "template", t => t.DependsOn("b", "c").With(Diagnostics.EngineJson.Element(new System.Text.Json.Nodes.JsonObject { ["text"] = "{{b}} {{c}}" })))
                .Build();

            var lane = new PlanBuilder("warm-up-lane").AddTask("a", "simulate", t => t.With(NoWork));
            string[] fan = [.. Enumerable.Range(0, 80).Select(i => $"f{i}")];
            foreach (var id in fan)
            {
                lane.AddTask(id, "simulate", t => t.DependsOn("a").With(NoWork));
            }

            lane.AddTask("g", "simulate", t => t.DependsOn(fan).With(NoWork))
                .AddTask("h", "simulate", t => t.DependsOn("g").With(NoWork));
            var engine = new ParallelFlowEngine();
            return new(engine.Compile(mixed), engine.Compile(lane.Build()));
        }

        /// <summary>Runs each plan the given number of times, unmeasured: no span, metric or gauge of it reaches a
        /// listener the process has.</summary>
        public async Task RunAsync(int mixedRuns, int laneRuns)
        {
            for (var round = 0; round < mixedRuns; round++)
            {
                // Watched, not watched, and in a pool, in turn: a run nobody watches releases its dependents before the
                // step (its own path); a run in a pool asks it for each slot (a service's runs share one).
                var watched = round % 3 == 0;
                var run = Mixed.Start(new RunOptions { Workers = 2, StreamEvents = watched, RecordAttempts = watched, Unmeasured = true, Pool = round % 3 == 2 ? Pool : null });
                try
                {
                    if (watched)
                    {
                        await foreach (var _ in run.ReadEventsAsync().ConfigureAwait(false))
                        {
                        }
                    }
                }
                finally
                {
                    (await run.Completion.ConfigureAwait(false)).Dispose();
                }
            }

            for (var round = 0; round < laneRuns; round++)
            {
                // Disposed: the arrays go back to the plan and the next round takes them, the path of a caller that
                // disposes its results. The strategy named, as a caller names it.
                using var result = await Lane.RunAsync(new RunOptions { Workers = 2, Unmeasured = true, Strategy = Plans.SchedulingStrategies.CriticalPath })
                    .ConfigureAwait(false);
                if (round % 2 == 1)
                {
                    // In a pool, every other round: its last links (the fan's end, g, h) are handed over with the slot
                    // kept, the path of a service's chains while no other run waits.
                    using var pooled = await Lane.RunAsync(new RunOptions { Workers = 2, Unmeasured = true, Pool = Pool }).ConfigureAwait(false);
                }
            }
        }
    }
}
