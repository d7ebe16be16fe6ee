using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Filters;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// How close each engine comes to the critical path when tasks wait (latency-bound: sleeps), on 4 workers, so that
/// width never binds and the critical path is the bound:
/// <list type="bullet">
/// <item><c>two-branches</c>: 0.5 s → 0.5 s beside 2 s (the case of Microsoft Agent Framework issue 3087, scaled):
/// the critical path is 2 s, and an engine of supersteps holds the short branch's second task for the long one.</item>
/// <item><c>uneven</c>: three layers of four tasks of 0.05–0.4 s, each depending on two of the layer before.</item>
/// </list>
/// One operation is one run; the column gives its time ÷ the critical path.
/// </summary>
[Config(typeof(Setup))]
public class PeerMakespanBenchmarks
{
    private const int Workers = 4;

    private Graph _graph = null!;
    private double[] _seconds = null!;
    private CompiledPlan _compiled = null!;
    private string? _graphFile;
    private PeerProcess? _taskflow;
    private PeerProcess? _dask;
    private MafGraph? _maf;

    [Params("two-branches", "uneven")]
    public string Case { get; set; } = "two-branches";

    /// <summary>The case's graph (predecessors by task) and each task's seconds.</summary>
    public static (int[][] Predecessors, double[] Seconds) Dag(string name) => name switch
    {
        "two-branches" => ([[], [0], []], [0.5, 0.5, 2.0]),
        "uneven" => (
            [[], [], [], [], [0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4]],
            [0.1, 0.4, 0.2, 0.05, 0.3, 0.1, 0.4, 0.2, 0.05, 0.3, 0.1, 0.2]),
        _ => throw new ArgumentException($"no case '{name}'", nameof(name)),
    };

    /// <summary>The longest path of the case, in seconds.</summary>
    public static double CriticalPath(string name)
    {
        var (predecessors, seconds) = Dag(name);
        var finish = new double[seconds.Length];
        for (var i = 0; i < seconds.Length; i++)
        {
            finish[i] = seconds[i] + predecessors[i].Select(p => finish[p]).DefaultIfEmpty(0).Max();
        }

        return finish.Max();
    }

    [GlobalSetup]
    public void GlobalSetup()
    {
        var (predecessors, seconds) = Dag(Case);
        _seconds = seconds;
        _graph = Graph.FromPredecessors(Case, predecessors);
        var builder = new PlanBuilder(Case).WithWorkers(Workers);
        for (var i = 0; i < predecessors.Length; i++)
        {
            var task = i;
            builder.AddTask($"t{i}", "simulate", t => t.DependsOn([.. predecessors[task].Select(p => $"t{p}")]).With(new { seconds = seconds[task] }));
        }

        _compiled = new ParallelFlowEngine().Compile(builder.Build());
        var file = _graphFile = Path.Combine(Path.GetTempPath(), $"parallelflow-peer-{Case}-{Environment.ProcessId}.txt");
        var durations = file + ".seconds";
        File.WriteAllText(file, Peers.GraphFile(_graph));
        File.WriteAllText(durations, string.Join('\n', seconds.Select(s => s.ToString(CultureInfo.InvariantCulture))));
        if (Peers.TaskflowHarness() is { } harness)
        {
            _taskflow = PeerProcess.Start(harness, [file, Workers.ToString(CultureInfo.InvariantCulture), durations]);
        }

        if (Peers.DaskPython() is { } python)
        {
            _dask = PeerProcess.Start(python, [Peers.DaskScript, file, Workers.ToString(CultureInfo.InvariantCulture), durations]);
        }

        _maf = new MafGraph(_graph, task => Task.Delay(TimeSpan.FromSeconds(_seconds[task])));
    }

    [GlobalCleanup]
    public void GlobalCleanup()
    {
        _taskflow?.Dispose();
        _dask?.Dispose();
        // The graph and durations the peers' harnesses read, once they have ended.
        File.Delete(_graphFile!);
        File.Delete(_graphFile + ".seconds");
    }

    [Benchmark(Description = "ParallelFlow")]
    public async Task<RunStatus> ParallelFlow() => (await _compiled.RunAsync().ConfigureAwait(false)).Status;

    [Benchmark(Description = "Taskflow (C++)")]
    public long Taskflow() => _taskflow!.Run(1);

    [Benchmark(Description = "MAF Workflows")]
    public Task<int> Maf() => _maf!.RunAsync();

    [Benchmark(Description = "Dask threaded")]
    public long Dask() => _dask!.Run(1);

    private sealed class Setup : ManualConfig
    {
        public Setup()
        {
            // A run of seconds is one operation: measured as it is, a few times, without a loop around it.
            AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5));
            AddColumn(new ValueColumn("÷ critical path", "The run's time ÷ the case's critical path", UnitType.Dimensionless,
                (c, mean) => ValueColumn.Ratio(mean, CriticalPath((string)c.Parameters["Case"]))));
            var taskflow = Peers.TaskflowHarness() is not null;
            var dask = Peers.DaskPython() is not null;
            AddFilter(new SimpleFilter(c => c.Descriptor.WorkloadMethod.Name switch
            {
                nameof(Taskflow) => taskflow,
                nameof(Dask) => dask,
                _ => true,
            }));
        }
    }
}
