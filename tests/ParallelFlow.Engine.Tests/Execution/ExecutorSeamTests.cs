using System.Collections.Concurrent;
using CsCheck;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>The scheduler runs tasks only through the executor seam: an executor of another kind (a thread per task,
/// no inline fast path) gets the same outcomes under the same limits, and the seam's contract holds.</summary>
public sealed class ExecutorSeamTests
{
    private static readonly Gen<RandomDag> Dags =
        Gen.Select(Gen.Int[1, 30], Gen.Int, Gen.Int[1, 6], Gen.Double[0, 0.3],
            (count, seed, workers, failureRate) => RandomDag.Create(count, seed, workers, failureRate));

    [Fact]
    public Task OnAThreadPerTask_EveryTaskRunsOnceAfterItsDependencies_WithinEveryLimit() =>
        Gen.Select(Dags, Gen.OneOfConst([.. SchedulingStrategies.BuiltIn])).SampleAsync(async (dag, strategy) =>
        {
            var runs = dag.Runs();
            var probe = new Probe { NeverRuns = [.. Enumerable.Range(0, dag.Count).Where(i => !runs[i]).Select(RandomDag.Id)] };
            var made = new ConcurrentQueue<DedicatedThreadExecutor>();
            var result = await TestEngines.ForRandomDag(dag, probe).RunAsync(dag.ToPlan(), new RunOptions { Strategy = strategy, Executor = DedicatedThreadExecutor.Factory(made) }).Within();

            Assert.Empty(probe.Violations);
            Assert.True(probe.Peak <= dag.Workers, $"peak {probe.Peak} > {dag.Workers} workers");
            for (var t = 0; t < RandomDag.WorkerTypes.Length; t++)
            {
                var peak = probe.PeakByType.GetValueOrDefault(RandomDag.WorkerTypes[t]);
                Assert.True(peak <= dag.Limits[t], $"{RandomDag.WorkerTypes[t]} peak {peak} > limit {dag.Limits[t]}");
            }

            var executor = Assert.Single(made);
            Assert.Empty(executor.Violations);
            Assert.Equal(1, executor.Completions);
            for (var i = 0; i < dag.Count; i++)
            {
                var id = RandomDag.Id(i);
                var expected = !runs[i] ? TaskRunStatus.Skipped : dag.Fails[i] ? TaskRunStatus.Failed : TaskRunStatus.Succeeded;
                Assert.Equal(expected, result.Tasks.Single(r => r.TaskId == id).Status);
                // Every task that ran was started once, through the executor, and its one attempt invoked through it.
                Assert.Equal(runs[i] ? 1 : 0, executor.Starts.GetValueOrDefault(i));
                Assert.Equal(runs[i] ? 1 : 0, executor.Invocations.GetValueOrDefault(i));
                Assert.Equal(runs[i] ? 1 : 0, probe.Executions.GetValueOrDefault(id));
            }

            Assert.Equal(dag.Fails.Any(f => f) ? RunStatus.Failed : RunStatus.Succeeded, result.Status);
        }, iter: 60);

    [Fact]
    public async Task OnAThreadPerTask_RetriesAndCancellationGoThroughTheSeam()
    {
        var attempts = 0;
        var gated = new GatedWorker();
        var engine = TestEngines.With(null,
            ("flaky", new DelegateWorker((_, _) => Interlocked.Increment(ref attempts) < 3 ? throw new TransientTaskException("not yet") : ValueTask.FromResult(TaskResult.FromText("ok")))),
            ("gated", gated));
        var plan = new PlanBuilder("seam")
            .AddTask("flaky", "flaky", t => t.Retry(new RetrySettings { MaxAttempts = 3, InitialDelaySeconds = 0, Jitter = false }))
            .AddTask("wait", "gated", t => t.DependsOn("flaky"))
            .AddTask("after", "gated", t => t.DependsOn("wait"))
            .Build();

        var made = new ConcurrentQueue<DedicatedThreadExecutor>();
        var run = engine.Compile(plan).Start(new RunOptions { Executor = DedicatedThreadExecutor.Factory(made) });
        await gated.Started("wait").Within();
        run.Cancel();
        var result = await run.Completion.Within();

        var executor = Assert.Single(made);
        Assert.Empty(executor.Violations);
        Assert.Equal(RunStatus.Cancelled, result.Status);
        Assert.Equal(3, executor.Invocations[0]);
        Assert.Equal(TaskRunStatus.Succeeded, result.Tasks[0].Status);
        Assert.Equal(3, result.Tasks[0].Attempts);
        // The token the executor passed on reached the worker: the running task ended cancelled, its dependent never ran.
        Assert.Equal(TaskRunStatus.Cancelled, result.Tasks[1].Status);
        Assert.Equal("cancelled while running", result.Tasks[1].Error);
        Assert.Equal(TaskRunStatus.Cancelled, result.Tasks[2].Status);
        Assert.False(executor.Starts.ContainsKey(2));
    }
}
