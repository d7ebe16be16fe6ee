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
public static class EngineWarmUp
{
    // Started in no caller's context: its runs take no Activity, scope or other AsyncLocal value of the code that asked.
    private static readonly Lazy<Task> Started = new(() =>
    {
        using (ExecutionContext.SuppressFlow())
        {
            return Task.Run(RunAsync);
        }
    });

    /// <summary>Starts the warm-up once per process; later calls return the same task. Never throws: a warm-up that
    /// fails leaves the engine as cold as it was.</summary>
    /// <returns>A task that completes when the warm-up is done.</returns>
    public static Task Start() => Started.Value;

    private static async Task RunAsync()
    {
        try
        {
            // Two tasks of one worker type after a fan-out, then a join: the inline path, a hand-over to the executor,
            // a dependency's output, retries' pipeline, the ready queues of the default strategy.
            var plan = new PlanBuilder("warm-up")
                .AddTask("a", "simulate", t => t.With(new { seconds = 0 }))
                .AddTask("b", "simulate", t => t.DependsOn("a").With(new { seconds = 0 }))
                .AddTask("c", "simulate", t => t.DependsOn("a").With(new { seconds = 0 }))
                .AddTask("d", "template", t => t.DependsOn("b", "c").With(new { text = "{{b}} {{c}}" }))
                .Build();
            var compiled = new ParallelFlowEngine().Compile(plan);

            // The engine's telemetry: its meter and instruments are made, and the checks a measured run makes compiled,
            // without a measurement or a span (the runs below are unmeasured). Made in a real run's first step, they
            // were most of what that run paid over a warm one (several milliseconds: the meter's first instruments).
            System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(Diagnostics.EngineTelemetry).TypeHandle);
            _ = Diagnostics.EngineTelemetry.MeasuresTasks | Diagnostics.EngineTelemetry.MeasuresGauges | Diagnostics.EngineTelemetry.IsTracing |
                Diagnostics.EngineTelemetry.MeasuresQueueWait;
            for (var round = 0; round < 4; round++)
            {
                // Watched and not, in turn: a run nobody watches releases its dependents before the step (its own path).
                // Unmeasured: no span, metric or gauge of it reaches a listener the process has.
                var watched = round % 2 == 0;
                var run = compiled.Start(new RunOptions { Workers = 2, StreamEvents = watched, RecordAttempts = watched, Unmeasured = true });
                if (watched)
                {
                    await foreach (var _ in run.ReadEventsAsync().ConfigureAwait(false))
                    {
                    }
                }

                await run.Completion.ConfigureAwait(false);
            }

            // One worker type: a run nobody watches then schedules its successes in the lock-free lane (FlowRun.Lane),
            // the path of a plan of one kind of task. A fan-out wider than the workers, so that ready tasks wait in the
            // lane's set and are taken from it, then a chain, handed from task to task. More than 64 tasks: the set's
            // bitmap then has a summary level, as a real plan's has.
            var lane = new PlanBuilder("warm-up-lane").AddTask("a", "simulate", t => t.With(new { seconds = 0 }));
            string[] fan = [.. Enumerable.Range(0, 80).Select(i => $"f{i}")];
            foreach (var id in fan)
            {
                lane.AddTask(id, "simulate", t => t.DependsOn("a").With(new { seconds = 0 }));
            }

            lane.AddTask("g", "simulate", t => t.DependsOn(fan).With(new { seconds = 0 }))
                .AddTask("h", "simulate", t => t.DependsOn("g").With(new { seconds = 0 }));
            var oneType = new ParallelFlowEngine().Compile(lane.Build());
            for (var round = 0; round < 3; round++)
            {
                // Disposed: the arrays go back to the plan and the next round takes them, the path of a caller that
                // disposes its results. The strategy named, as a caller names it.
                using var result = await oneType.RunAsync(new RunOptions { Workers = 2, Unmeasured = true, Strategy = Plans.SchedulingStrategies.CriticalPath })
                    .ConfigureAwait(false);
            }

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
        }
    }
}
