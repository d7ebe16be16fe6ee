using BenchmarkDotNet.Attributes;
using ParallelFlow.Benchmarks.Baselines;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Benchmarks;

/// <summary>How much does the engine cost per task? Zero-work tasks on 1k- and 100k-task graphs, a compiled plan run
/// once per operation, beside the hand-written event-driven scheduler (the baseline), sequential, level-by-level waves
/// and Parallel.ForEachAsync over a topological order, all on the same graph and worker count. Per-task cost = the
/// mean / task count (the wavefront grid is the largest square: 961 and 99,856 tasks).</summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class EngineOverheadBenchmarks
{
    private static readonly Func<int, ValueTask> NoWork = static _ => ValueTask.CompletedTask;
    private Graph _graph = null!;
    private CompiledPlan _compiled = null!;

    /// <summary>The five shapes, or those <c>PARALLELFLOW_BENCH_SHAPES</c> names (comma-separated).</summary>
    public static IEnumerable<string> Shapes => Environment.GetEnvironmentVariable("PARALLELFLOW_BENCH_SHAPES") is { Length: > 0 } listed
        ? listed.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        : ["chain", "fork-join", "binary-tree", "wavefront", "layered-random"];

    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "chain";

    [Params(1_000, 100_000)]
    public int Tasks { get; set; }

    public int Workers { get; set; } = Environment.ProcessorCount;

    [GlobalSetup]
    public void Setup()
    {
        _graph = Graph.Create(Shape, Tasks);
        _compiled = NoWorkWorker.Compile(_graph, Workers);
    }

    [Benchmark(Baseline = true, Description = "hand-written event-driven")]
    public Task HandWritten() => EventDrivenScheduler.RunAsync(_graph, Workers, NoWork);

    [Benchmark(Description = "sequential")]
    public Task Sequential() => SequentialScheduler.RunAsync(_graph, NoWork);

    [Benchmark(Description = "waves (Task.WhenAll per level)")]
    public Task Waves() => WaveScheduler.RunAsync(_graph, NoWork);

    [Benchmark(Description = "Parallel.ForEachAsync (topological)")]
    public Task ParallelForEach() => ParallelForEachScheduler.RunAsync(_graph, Workers, NoWork);

    [Benchmark(Description = "ParallelFlow run")]
    public Task<RunStatus> Engine() => _compiled.RunAsync().StatusAsync();
}
