using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// The adaptive pool against fixed worker counts on a mixed plan: a latency-bound phase (400 tasks that each sleep
/// 100 ms, as a model call waits), a CPU-bound phase (40 tasks that each keep a core busy for 50 ms), and a second
/// latency-bound phase like the first, each phase after the last. One operation is one whole run; its time is the
/// makespan. The fixed counts are the default (the processor count) and 4–64; the adaptive pool starts at the default
/// and may grow to 64 (<c>parallelism.adaptive</c>, <c>cpu_threshold</c> 0.8). The best fixed count is chosen in
/// hindsight from the same run of the suite; the target is adaptive within 1.1× of it, and faster than the default.
/// </summary>
[Config(typeof(Settings))]
public class AdaptivePoolBenchmarks
{
    private CompiledPlan _plan = null!;

    /// <summary>0 stands for the adaptive pool; any other value is a fixed worker count. <c>PARALLELFLOW_BENCH_POOLS</c>
    /// names others, comma-separated (the default pools take about 7 minutes, most of it the fixed 2 and 4).</summary>
    public static IEnumerable<int> Pools => Environment.GetEnvironmentVariable("PARALLELFLOW_BENCH_POOLS") is { Length: > 0 } listed
        ? listed.Split(',').Select(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture))
        : [0, Environment.ProcessorCount, 4, 8, 16, 32, 64];

    [ParamsSource(nameof(Pools))]
    public int Workers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Engine.Workers.CpuWork.EnsureCalibrated();
        _plan = new ParallelFlowEngine().Compile(MixedPlan(sleeps: 400, sleepSeconds: 0.1, computes: 40, computeSeconds: 0.05));
    }

    [Benchmark(Description = "mixed latency/CPU plan")]
    public async Task<RunStatus> Run() =>
        (await _plan.RunAsync(Workers == 0
            ? new RunOptions { Adaptive = true }
            : new RunOptions { Workers = Workers }).ConfigureAwait(false)).Status;

    /// <summary>Sleeping, then computing, then sleeping again; each phase waits for the one before (a barrier task).</summary>
    internal static PlanDefinition MixedPlan(int sleeps, double sleepSeconds, int computes, double computeSeconds)
    {
        var builder = new PlanBuilder("mixed").WithParallelism(new ParallelismSettings(MinWorkers: 1, MaxWorkers: 64, DefaultWorkers: Environment.ProcessorCount) { Adaptive = false });
        var barrier = (string?)null;
        void Phase(string name, int count, object with)
        {
            var ids = new List<string>();
            for (var i = 0; i < count; i++)
            {
                var id = $"{name}-{i}";
                ids.Add(id);
                builder.AddTask(id, "simulate", t => (barrier is null ? t : t.DependsOn(barrier)).With(with));
            }

            barrier = $"{name}-done";
            builder.AddTask(barrier, "simulate", t => t.DependsOn([.. ids]).With(new { seconds = 0 }));
        }

        Phase("wait-a", sleeps, new { seconds = sleepSeconds });
        Phase("compute", computes, new { seconds = computeSeconds, mode = "cpu" });
        Phase("wait-b", sleeps, new { seconds = sleepSeconds });
        return builder.Build();
    }

    /// <summary>One process, one warm-up and three measured runs per pool.</summary>
    private sealed class Settings : ManualConfig
    {
        public Settings()
        {
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithStrategy(RunStrategy.Monitoring)
                .WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3));
            WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(32));
        }
    }
}
