using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Benchmarks;

/// <summary>What does a shared pool (<see cref="ParallelFlowPool"/>, as a service's runs share one) cost per task? A
/// 1k-task graph of zero-work tasks on 2 workers, run alone (the baseline), in a pool of 2 workers, and as two runs at
/// once in that pool (an operation is then both runs: 2,000 tasks). Alone, a one-type run schedules its successes in
/// the lock-free lane; in a pool, every step takes the run's gate and asks the pool for its slots, but a task whose end
/// makes one dependent ready keeps its slot for it while no run waits (a chain's every link). Two runs at once fill
/// the pool, so each waits for the other's slots in turn.</summary>
[MemoryDiagnoser]
[Config(typeof(Columns))]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class PoolBenchmarks
{
    private CompiledPlan _compiled = null!;
    private ParallelFlowPool _pool = null!;

    [Params("chain", "layered-random", "wavefront")]
    public string Shape { get; set; } = "chain";

    [Params(1_000)]
    public int Tasks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _compiled = NoWorkWorker.Compile(Graph.Create(Shape, Tasks), workers: 2);
        _pool = new ParallelFlowPool(new PoolOptions { Workers = 2 });
    }

    [Benchmark(Baseline = true, Description = "run alone")]
    public Task<RunStatus> Alone() => _compiled.RunAsync().StatusAsync();

    [Benchmark(Description = "run in a pool")]
    public Task<RunStatus> Pooled() => _compiled.RunAsync(new RunOptions { Pool = _pool }).StatusAsync();

    [Benchmark(Description = "two runs at once in a pool")]
    public async Task<RunStatus> TwoPooled()
    {
        var statuses = await Task.WhenAll(
            _compiled.RunAsync(new RunOptions { Pool = _pool }).StatusAsync(),
            _compiled.RunAsync(new RunOptions { Pool = _pool }).StatusAsync()).ConfigureAwait(false);
        return statuses.Max();
    }

    private static int RunsOf(BenchmarkCase c) => c.Descriptor.WorkloadMethod.Name == nameof(TwoPooled) ? 2 : 1;

    private sealed class Columns : ManualConfig
    {
        public Columns() => AddColumn(new PerTaskColumn(RunsOf));
    }
}
