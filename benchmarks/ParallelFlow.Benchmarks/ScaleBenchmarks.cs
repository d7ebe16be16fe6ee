using System.Collections.Concurrent;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using ParallelFlow.Benchmarks.Baselines;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Benchmarks;

/// <summary>Does the engine scale? A chain and a layered random graph of 1k, 10k, 100k and 1M zero-work tasks on 2
/// workers: the per-task cost should stay flat from 1k to 1M (within 1.5×), a compiled plan hold at most 2 KB a task
/// and a run allocate at most 256 B a task. An operation is at least 100k tasks: <see cref="Runs"/> runs back to back
/// (100 of 1k, 10 of 10k, one of 100k or 1M), as the peers are run, so that every size pays a run's start alike —
/// its first task handed to a thread-pool thread, which a lone run of 1k tasks finds asleep (27–115 µs to wake here,
/// more than a third of such a run). The one-run case measures that lone run too. The compiled plan's size is
/// measured once per case, in its setup (the retained heap before and after building and compiling the plan: the plan
/// definition, its graph and the compiled arrays), and shown per task; allocations per run come from the memory
/// diagnoser. Run it in process (<c>--in-process</c>): the setup's measurement is read by the summary in the same
/// process.</summary>
[MemoryDiagnoser]
[Config(typeof(Columns))]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 6)]
public class ScaleBenchmarks
{
    private static readonly ConcurrentDictionary<(string Shape, int Tasks), double> CompiledBytesPerTask = new();
    private Graph _graph = null!;
    private CompiledPlan _compiled = null!;

    // The benchmark method this case runs, for the core round trip recorded at its end.
    private string? _method;

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
        CoreRoundTripColumn.Start(typeof(ScaleBenchmarks), (nameof(Shape), Shape), (nameof(Tasks), Tasks));
    }

    /// <summary>Lets the case's graph and compiled plan go (600 MB at 1M tasks), so that the next case measures with
    /// only its own plan alive.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        CoreRoundTripColumn.End(typeof(ScaleBenchmarks), _method, (nameof(Shape), Shape), (nameof(Tasks), Tasks));
        _compiled = null!;
        _graph = null!;
        GC.Collect();
    }

    /// <summary>Runs per operation: at least 100k tasks.</summary>
    public int Runs => RunsFor(Tasks);

    private static int RunsFor(int tasks) => Math.Max(1, 100_000 / tasks);

    [Benchmark(Baseline = true, Description = "hand-written event-driven")]
    public async Task HandWritten()
    {
        _method = nameof(HandWritten);
        for (var i = 0; i < Runs; i++)
        {
            await EventDrivenScheduler.RunAsync(_graph, 2, static _ => ValueTask.CompletedTask).ConfigureAwait(false);
        }
    }

    [Benchmark(Description = "ParallelFlow runs")]
    public async Task<RunStatus> Engine()
    {
        _method = nameof(Engine);
        var status = RunStatus.Succeeded;
        for (var i = 0; i < Runs; i++)
        {
            status = await _compiled.RunAsync().StatusAsync().ConfigureAwait(false);
        }

        return status;
    }

    [Benchmark(Description = "ParallelFlow, one run")]
    public Task<RunStatus> EngineOnce()
    {
        _method = nameof(EngineOnce);
        return _compiled.RunAsync().StatusAsync();
    }

    /// <summary>Runs in one operation of a case: <see cref="Runs"/>, or one for the one-run case.</summary>
    private static int RunsOf(BenchmarkCase c) =>
        c.Descriptor.WorkloadMethod.Name == nameof(EngineOnce) ? 1 : RunsFor((int)c.Parameters["Tasks"]);

    private sealed class Columns : ManualConfig
    {
        public Columns()
        {
            // An operation of the one-run case is one run, of the others several: compare per task, not by the mean.
            HideColumns(Column.Ratio, Column.RatioSD, Column.AllocRatio);
            AddColumn(new PerTaskColumn(RunsOf));
            AddColumn(new CoreRoundTripColumn());
            AddColumn(new ValueColumn("runs/op", "Runs of the graph in one operation", UnitType.Dimensionless, (c, _) =>
                RunsOf(c).ToString(CultureInfo.InvariantCulture)));
            AddColumn(new ValueColumn("allocated/run (B/task)", "Bytes allocated per run, and per task", UnitType.Dimensionless, static (summary, c) =>
                summary[c]?.GcStats.GetBytesAllocatedPerOperation(c) is { } bytes
                    ? FormattableString.Invariant($"{bytes / (double)RunsOf(c) / 1024:0.0} KB ({bytes / (double)RunsOf(c) / (int)c.Parameters["Tasks"]:0.0})")
                    : "-"));
            AddColumn(new ValueColumn("compiled B/task", "The compiled plan's retained bytes (definition, graph, compiled arrays) over its tasks", UnitType.Dimensionless, (c, _) =>
                c.Descriptor.WorkloadMethod.Name == nameof(Engine) && CompiledBytesPerTask.TryGetValue(((string)c.Parameters["Shape"], (int)c.Parameters["Tasks"]), out var bytes)
                    ? bytes.ToString("0", CultureInfo.InvariantCulture)
                    : "-"));
        }
    }
}
