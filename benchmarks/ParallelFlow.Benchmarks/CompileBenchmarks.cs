using BenchmarkDotNet.Attributes;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Benchmarks;

/// <summary>How much do time and memory does compiling cost per task? Validation, analysis, ranking and building the
/// Dataflow-ready structure of a plan, measured apart from running it. Allocated bytes / task count bounds the
/// memory a compiled task holds (the target is ≤ 2 KB).</summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 8)]
public class CompileBenchmarks
{
    private ParallelFlowEngine _engine = null!;
    private PlanDefinition _plan = null!;

    [Params("chain", "fork-join", "binary-tree", "wavefront", "layered-random")]
    public string Shape { get; set; } = "chain";

    [Params(1_000, 100_000)]
    public int Tasks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _engine = NoWorkWorker.Engine();
        _plan = Graph.Create(Shape, Tasks).ToPlan(NoWorkWorker.Name, Environment.ProcessorCount);
    }

    [Benchmark(Description = "compile")]
    public CompiledPlan Compile() => _engine.Compile(_plan);
}
