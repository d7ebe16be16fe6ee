using CsCheck;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests.Execution;

public sealed class SchedulingPropertyTests
{
    // The built-in strategies and two plugin strategies: one that orders by what it is told, one that throws.
    private static readonly Gen<string> Strategies = Gen.OneOfConst([.. SchedulingStrategies.BuiltIn, "most_dependents", "throws"]);

    private static readonly Gen<RandomDag> Dags =
        Gen.Select(Gen.Int[1, 40], Gen.Int, Gen.Int[1, 6], Gen.Double[0, 0.3],
            (count, seed, workers, failureRate) => RandomDag.Create(count, seed, workers, failureRate));

    [Fact]
    public Task EveryTask_RunsOnceAfterItsDependencies_WithinEveryLimit_UnderEveryStrategy() =>
        Gen.Select(Dags, Strategies).SampleAsync(async (dag, strategy) =>
        {
            var (probe, result) = await RunAsync(dag, strategy);
            Assert.Empty(probe.Violations);
            Assert.True(probe.Peak <= dag.Workers, $"peak {probe.Peak} > {dag.Workers} workers");
            for (var t = 0; t < RandomDag.WorkerTypes.Length; t++)
            {
                var peak = probe.PeakByType.GetValueOrDefault(RandomDag.WorkerTypes[t]);
                Assert.True(peak <= dag.Limits[t], $"{RandomDag.WorkerTypes[t]} peak {peak} > limit {dag.Limits[t]}");
            }

            // A task runs exactly once if every hard dependency succeeded, and is skipped (never run) otherwise.
            var status = result.Tasks.ToDictionary(r => r.TaskId, r => r.Status);
            var runs = dag.Runs();
            for (var i = 0; i < dag.Count; i++)
            {
                var id = RandomDag.Id(i);
                var runnable = runs[i];
                Assert.Equal(runnable ? 1 : 0, probe.Executions.GetValueOrDefault(id));
                var expected = !runnable ? TaskRunStatus.Skipped : dag.Fails[i] ? TaskRunStatus.Failed : TaskRunStatus.Succeeded;
                Assert.Equal(expected, status[id]);
            }

            Assert.Equal(dag.Fails.Any(f => f) ? RunStatus.Failed : RunStatus.Succeeded, result.Status);
        }, iter: 200);

    [Fact]
    public Task ACompiledPlan_RunConcurrently_GivesEachRunTheSameOutcome() =>
        Dags.SampleAsync(async dag =>
        {
            var runs = dag.Runs();
            var probe = new Probe { NeverRuns = [.. Enumerable.Range(0, dag.Count).Where(i => !runs[i]).Select(RandomDag.Id)] };
            var engine = EngineFor(dag, probe);
            var compiled = engine.Compile(dag.ToPlan());
            var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => compiled.RunAsync())).Within();
            var first = results[0].Tasks.Select(t => t.Status).ToList();
            Assert.All(results, r => Assert.Equal(first, r.Tasks.Select(t => t.Status).ToList()));
            Assert.Equal(3, results.Select(r => r.RunId).Distinct().Count());
        }, iter: 50);


    private static async Task<(Probe, RunResult)> RunAsync(RandomDag dag, string strategy)
    {
        var runs = dag.Runs();
        var probe = new Probe { NeverRuns = [.. Enumerable.Range(0, dag.Count).Where(i => !runs[i]).Select(RandomDag.Id)] };
        var result = await EngineFor(dag, probe).RunAsync(dag.ToPlan(), new RunOptions { Strategy = strategy }).Within();
        return (probe, result);
    }

    private static ParallelFlowEngine EngineFor(RandomDag dag, Probe probe)
    {
        var engine = TestEngines.ForRandomDag(dag, probe);
        engine.Catalog.AddStrategy("most_dependents", new MostDependentsFirst());
        engine.Catalog.AddStrategy("throws", new ThrowingStrategy());
        return engine;
    }
}
