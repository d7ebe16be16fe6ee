using System.Collections.Concurrent;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using ParallelFlow.Benchmarks.Baselines;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Benchmarks;

/// <summary>Does the engine scale? A chain and a layered random graph of 1k, 10k, 100k and 1M zero-work tasks on 2
/// workers: the per-task cost should stay flat from 1k to 1M (within 1.5×), a compiled plan hold at most 2 KB a task
/// and a run allocate at most 256 B a task. The compiled plan's size is measured once per case, in its setup (the
/// retained heap before and after building and compiling the plan: the plan definition, its graph and the compiled
/// arrays), and shown per task; run allocations come from the memory diagnoser. Run it in process
/// (<c>--in-process</c>): the setup's measurement is read by the summary in the same process.</summary>
[MemoryDiagnoser]
[Config(typeof(Columns))]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 6)]
public class ScaleBenchmarks
{
    private static readonly ConcurrentDictionary<(string Shape, int Tasks), double> CompiledBytesPerTask = new();
    private Graph _graph = null!;
    private CompiledPlan _compiled = null!;

    [Params("chain", "layered-random")]
    public string Shape { get; set; } = "chain";

    [Params(1_000, 10_000, 100_000, 1_000_000)]
    public int Tasks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _graph = Graph.Create(Shape, Tasks);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        _compiled = NoWorkWorker.Compile(_graph, workers: 2);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        CompiledBytesPerTask[(Shape, Tasks)] = (after - before) / (double)_graph.Count;
    }

    [Benchmark(Baseline = true, Description = "hand-written event-driven")]
    public Task HandWritten() => EventDrivenScheduler.RunAsync(_graph, 2, static _ => ValueTask.CompletedTask);

    [Benchmark(Description = "ParallelFlow run")]
    public Task<RunStatus> Engine() => _compiled.RunAsync().StatusAsync();

    private sealed class Columns : ManualConfig
    {
        public Columns()
        {
            AddColumn(new PerTaskColumn());
            AddColumn(new ValueColumn("compiled B/task", "The compiled plan's retained bytes (definition, graph, compiled arrays) over its tasks", UnitType.Dimensionless, (c, _) =>
                c.Descriptor.WorkloadMethod.Name == nameof(Engine) && CompiledBytesPerTask.TryGetValue(((string)c.Parameters["Shape"], (int)c.Parameters["Tasks"]), out var bytes)
                    ? bytes.ToString("0", CultureInfo.InvariantCulture)
                    : "-"));
        }
    }
}
