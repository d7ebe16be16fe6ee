using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Journal;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// Estimates learned from the journal: a WfCommons trace replayed latency-bound under <c>critical_path</c>, with the
/// trace's own durations as estimates (the baseline), with every estimate wrong by 10× (each task ×10 or ÷10, a fixed
/// draw), and with the same wrong plan on its second run, which plans with the medians its first run recorded in a
/// journal (<see cref="PlanDefinition.WithHistory"/>), and on its third. One operation is one whole replay; its time is
/// the makespan, and the ratio column is each over the well-estimated run. The cases are the traces and worker counts
/// where a list schedule in those wrong priorities is 8–19% slower than in the right ones (an offline simulation of
/// all 20 traces at 2, 4 and 8 workers; on most, the order hardly matters), scaled as <see cref="MakespanBenchmarks"/>
/// scales them (lower bound 0.5 s). <c>PARALLELFLOW_BENCH_CASES</c> names others (<c>TRACE@WORKERS</c>, comma-separated).
/// </summary>
[Config(typeof(Settings))]
public class LearnedEstimateBenchmarks
{
    public static IEnumerable<string> Cases => Environment.GetEnvironmentVariable("PARALLELFLOW_BENCH_CASES") is { Length: > 0 } listed
        ? listed.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        : ["soykb-chameleon-10fastq-10ch-001@2", "cycles-chameleon-1l-1c-9p-001@4", "srasearch-chameleon-10a-001@8"];

    private int _workers;
    private CompiledPlan _exact = null!;
    private CompiledPlan _wrong = null!;
    private CompiledPlan _secondRun = null!;
    private CompiledPlan _thirdRun = null!;

    /// <summary>A trace and a worker count, <c>TRACE@WORKERS</c>.</summary>
    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var engine = new ParallelFlowEngine();
        var at = Case.LastIndexOf('@');
        _workers = int.Parse(Case[(at + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var replay = ReplayCase.Get(Case[..at], _workers, "sleep", MakespanBenchmarks.LowerBoundSeconds);
        _exact = engine.Compile(replay.Plan);
        var wrong = WrongByTenfold(replay.Plan);
        _wrong = engine.Compile(wrong);

        // The first run of the wrong plan is recorded; the second plans with what it measured, the third with both.
        var file = Path.Combine(Path.GetTempPath(), $"parallelflow-learned-{Guid.NewGuid():N}.db");
        try
        {
            using var journal = RunJournal.Open(file);
            Record(journal, _wrong, "first");
            var second = wrong.WithHistory(journal.History(wrong.Id));
            _secondRun = engine.Compile(second);
            Record(journal, _secondRun, "second");
            _thirdRun = engine.Compile(wrong.WithHistory(journal.History(wrong.Id)));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            File.Delete(file);
        }
    }

    [Benchmark(Baseline = true, Description = "estimates exact")]
    public Task<RunStatus> Exact() => RunAsync(_exact);

    [Benchmark(Description = "estimates wrong by 10x, first run")]
    public Task<RunStatus> WrongFirstRun() => RunAsync(_wrong);

    [Benchmark(Description = "same plan, second run (learned from the first)")]
    public Task<RunStatus> WrongSecondRun() => RunAsync(_secondRun);

    [Benchmark(Description = "same plan, third run (learned from two)")]
    public Task<RunStatus> WrongThirdRun() => RunAsync(_thirdRun);

    private async Task<RunStatus> RunAsync(CompiledPlan plan) =>
        (await plan.RunAsync(new RunOptions { Workers = _workers, Strategy = SchedulingStrategies.CriticalPath }).ConfigureAwait(false)).Status;

    private void Record(RunJournal journal, CompiledPlan plan, string runId)
    {
        journal.BeginRun(runId, plan.Definition.Id, "trace.json", "h", null, null, _workers, DateTimeOffset.UtcNow);
        var result = plan.RunAsync(new RunOptions { RunId = runId, Workers = _workers, Strategy = SchedulingStrategies.CriticalPath, Journal = journal }).GetAwaiter().GetResult();
        journal.FinishRun(result);
    }

    /// <summary>The plan with each task's estimate multiplied or divided by ten, by a fixed draw per task.</summary>
    internal static PlanDefinition WrongByTenfold(PlanDefinition plan)
    {
        var random = new Random(20261202);
        return new PlanDefinition
        {
            Id = plan.Id,
            Parallelism = plan.Parallelism,
            Strategy = plan.Strategy,
            SourceFile = plan.SourceFile,
            Tasks = [.. plan.Tasks.Select(t => new TaskDefinition
            {
                Id = t.Id,
                Worker = t.Worker,
                Description = t.Description,
                With = t.With,
                DependsOn = t.DependsOn,
                After = t.After,
                EstimateSeconds = (t.EstimateSeconds ?? 1) * (random.Next(2) == 0 ? 10 : 0.1),
            })],
        };
    }

    /// <summary>One process, one warm-up and five measured replays per case.</summary>
    private sealed class Settings : ManualConfig
    {
        public Settings()
        {
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithStrategy(RunStrategy.Monitoring)
                .WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5));
            WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(64));
        }
    }
}
