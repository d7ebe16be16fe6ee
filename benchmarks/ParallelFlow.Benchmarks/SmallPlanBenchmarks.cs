using BenchmarkDotNet.Attributes;
using ParallelFlow.Benchmarks.Baselines;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Benchmarks;

/// <summary>What does one run of a small (10-task) plan cost end to end, compiled once? Target: ≤ 10 µs.</summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class SmallPlanBenchmarks
{
    private Graph _graph = null!;
    private CompiledPlan _compiled = null!;

    [GlobalSetup]
    public void Setup()
    {
        _graph = Graph.Create("layered-random", 10);
        _compiled = NoWorkWorker.Compile(_graph, Environment.ProcessorCount);
    }

    [Benchmark(Baseline = true, Description = "hand-written event-driven")]
    public Task HandWritten() => EventDrivenScheduler.RunAsync(_graph, Environment.ProcessorCount, static _ => ValueTask.CompletedTask);

    [Benchmark(Description = "ParallelFlow run, 10 tasks")]
    public async Task<RunStatus> Engine() => (await _compiled.RunAsync().ConfigureAwait(false)).Status;

    [Benchmark(Description = "ParallelFlow run, 10 tasks, result disposed")]
    public Task<RunStatus> EngineDisposed() => _compiled.RunAsync().StatusAsync();
}
