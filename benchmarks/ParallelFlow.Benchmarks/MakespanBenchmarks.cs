using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ParallelFlow.Benchmarks.Baselines;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// How close does a run come to the physical limit? Real WfCommons workflows replayed time-scaled, latency-bound
/// (tasks sleep) and CPU-bound (tasks keep a core busy), with 2, 4, 8 and unlimited workers (0), under each strategy,
/// beside the baselines on the same graph and worker count. One operation is one whole replay; its time is the
/// makespan. Each case is scaled so that its lower bound max(critical path, work / workers) is
/// <see cref="LowerBoundSeconds"/>; the columns give the makespan as a multiple of that bound and of an offline
/// list-scheduling simulation of the same graph under the same order (fifo for the baselines), which has no overhead.
/// CPU-bound cases count at most the cores as workers in the bound and the simulation. The trace set and worker counts
/// can be changed with <c>PARALLELFLOW_BENCH_TRACES</c> and <c>PARALLELFLOW_BENCH_WORKERS</c>.
/// </summary>
[Config(typeof(Columns))]
public class MakespanBenchmarks
{
    private static readonly bool Quick = Environment.GetEnvironmentVariable("PARALLELFLOW_BENCH_QUICK") == "1";

    /// <summary>The three traces of the default run: a wide fan-in, a fork-join with long tails, a pipeline of 1,695
    /// tasks. <c>PARALLELFLOW_BENCH_TRACES</c> names others (comma-separated file names without .json), or <c>all</c>.</summary>
    private static readonly string[] DefaultTraces =
        ["montage-chameleon-2mass-01d-001", "1000genome-chameleon-8ch-250k-001", "epigenomics-chameleon-ilmn-6seq-50k-001"];

    private ReplayCase _case = null!;
    private CompiledPlan _compiled = null!;
    private Func<int, ValueTask> _work = null!;

    /// <summary>The lower bound every case is scaled to: 0.5 s (0.25 s quick), or <c>PARALLELFLOW_BENCH_BOUND</c> seconds.</summary>
    public static double LowerBoundSeconds => Environment.GetEnvironmentVariable("PARALLELFLOW_BENCH_BOUND") is { Length: > 0 } bound
        ? double.Parse(bound, System.Globalization.CultureInfo.InvariantCulture)
        : Quick ? 0.25 : 0.5;

    public static IEnumerable<string> TraceNames => Environment.GetEnvironmentVariable("PARALLELFLOW_BENCH_TRACES") switch
    {
        "all" => Directory.GetFiles(Traces.Folder, "*.json").Select(f => Path.GetFileNameWithoutExtension(f)!).Order(StringComparer.Ordinal),
        { Length: > 0 } listed => listed.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        _ => Quick ? DefaultTraces[..1] : DefaultTraces,
    };

    /// <summary>2, 4, 8 and unlimited (0); <c>PARALLELFLOW_BENCH_WORKERS</c> names others, comma-separated.</summary>
    public static IEnumerable<int> WorkerCounts => Environment.GetEnvironmentVariable("PARALLELFLOW_BENCH_WORKERS") is { Length: > 0 } listed
        ? listed.Split(',').Select(w => int.Parse(w, System.Globalization.CultureInfo.InvariantCulture))
        : Quick ? [2, 0] : [2, 4, 8, 0];

    [ParamsSource(nameof(TraceNames))]
    public string Trace { get; set; } = "";

    [ParamsSource(nameof(WorkerCounts))]
    public int Workers { get; set; }

    [Params("sleep", "cpu")]
    public string Mode { get; set; } = "sleep";

    [GlobalSetup]
    public void Setup()
    {
        _case = ReplayCase.Get(Trace, Workers, Mode, LowerBoundSeconds);
        _compiled = new ParallelFlowEngine().Compile(_case.Plan);
        _work = _case.Work(Mode);
        Engine.Workers.CpuWork.EnsureCalibrated();
    }

    [Benchmark(Baseline = true, Description = "hand-written event-driven")]
    public Task HandWritten() => EventDrivenScheduler.RunAsync(_case.Graph, _case.Workers, _work);

    [Benchmark(Description = "waves")]
    public Task Waves() => WaveScheduler.RunAsync(_case.Graph, _work, _case.Workers);

    [Benchmark(Description = "Parallel.ForEachAsync")]
    public Task ParallelForEach() => ParallelForEachScheduler.RunAsync(_case.Graph, _case.Workers, _work);

    [Benchmark(Description = "ParallelFlow critical_path")]
    public Task<RunStatus> CriticalPath() => RunAsync(SchedulingStrategies.CriticalPath);

    [Benchmark(Description = "ParallelFlow fifo")]
    public Task<RunStatus> Fifo() => RunAsync(SchedulingStrategies.Fifo);

    [Benchmark(Description = "ParallelFlow shortest_first")]
    public Task<RunStatus> ShortestFirst() => RunAsync(SchedulingStrategies.ShortestFirst);

    private async Task<RunStatus> RunAsync(string strategy) =>
        (await _compiled.RunAsync(new RunOptions { Workers = _case.Workers, Strategy = strategy }).ConfigureAwait(false)).Status;

    /// <summary>
    /// One process for every case, so that CPU-bound work is calibrated once and weighs the same for every contender
    /// (a process of its own per case gave ±5% between cases from calibration alone); one warm-up and three
    /// measured replays per case. And the ratio columns, computed from each case's parameters and its measured mean.
    /// </summary>
    private sealed class Columns : ManualConfig
    {
        public Columns()
        {
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithStrategy(RunStrategy.Monitoring)
                .WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3));
            WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(64));
            AddColumn(Ratio("× lower bound", "Mean makespan over the lower bound of the same case", (replay, _) => replay.LowerBoundSeconds));
            AddColumn(Ratio("× simulated", "Mean makespan over the simulated of the same case", (replay, method) => replay.SimulatedSeconds(StrategyOf(method))));
            // What the order itself costs: the simulation's makespan over the bound, whatever the run measured.
            AddColumn(new ValueColumn("simulated × lower bound", "The list-scheduling simulation's makespan over the lower bound: what the order itself costs", UnitType.Dimensionless, (c, _) =>
            {
                var replay = Case(c);
                return (replay.SimulatedSeconds(StrategyOf(c.Descriptor.WorkloadMethod.Name)) / replay.LowerBoundSeconds).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);
            }));
        }

        private static ReplayCase Case(BenchmarkCase c) =>
            ReplayCase.Get((string)c.Parameters["Trace"], (int)c.Parameters["Workers"], (string)c.Parameters["Mode"], LowerBoundSeconds);

        private static ValueColumn Ratio(string name, string legend, Func<ReplayCase, string, double> reference) =>
            new(name, legend, UnitType.Dimensionless, (c, mean) => ValueColumn.Ratio(mean, reference(Case(c), c.Descriptor.WorkloadMethod.Name)));

        private static string StrategyOf(string method) => method switch
        {
            nameof(CriticalPath) => SchedulingStrategies.CriticalPath,
            nameof(ShortestFirst) => SchedulingStrategies.ShortestFirst,
            _ => SchedulingStrategies.Fifo,
        };
    }
}
