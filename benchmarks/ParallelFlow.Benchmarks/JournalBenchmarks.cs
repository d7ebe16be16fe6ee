using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Journal;

namespace ParallelFlow.Benchmarks;

/// <summary>What does the run journal cost? 5,000 zero-work tasks on 2 workers, run once per operation with a SQLite
/// journal (group commit: one transaction per batch of finished tasks, then the run's end recorded) beside the same
/// compiled plan run without one (the baseline). Independent tasks finish many at a time and share transactions; on
/// a chain every task waits for the one before it. A fresh journal file per iteration, in the temp folder.</summary>
[MemoryDiagnoser]
[Config(typeof(Columns))]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class JournalBenchmarks
{
    private CompiledPlan _compiled = null!;
    private string _folder = null!;
    private RunJournal? _journal;
    private int _iteration;

    [Params("independent", "chain", "layered-random")]
    public string Shape { get; set; } = "chain";

    [Params(5_000)]
    public int Tasks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _compiled = NoWorkWorker.Compile(Graph.Create(Shape, Tasks), workers: 2);
        _folder = Directory.CreateTempSubdirectory("parallelflow-journal-bench-").FullName;
    }

    // Both cases run one operation per iteration, so BenchmarkDotNet compares them as one job; the baseline opens none.
    [IterationSetup(Target = nameof(NoJournal))]
    public void NoSetup()
    {
    }

    [IterationSetup(Target = nameof(Journaled))]
    public void OpenJournal()
    {
        _journal = RunJournal.Open(Path.Combine(_folder, $"journal-{_iteration++}.db"));
        _journal.BeginRun("bench", "bench", "plan.json", "hash", null, null, 2, DateTimeOffset.UtcNow);
    }

    [IterationCleanup(Target = nameof(Journaled))]
    public void CloseJournal() => _journal?.Dispose();

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);

    [Benchmark(Baseline = true, Description = "--no-journal")]
    public Task<RunStatus> NoJournal() => RunAsync(journal: null);

    [Benchmark(Description = "journal (group commit)")]
    public Task<RunStatus> Journaled() => RunAsync(_journal);

    /// <summary>A run as the command makes it: its events streamed and read as they come.</summary>
    private async Task<RunStatus> RunAsync(RunJournal? journal)
    {
        var run = _compiled.Start(new RunOptions { Journal = journal, RunId = "bench", StreamEvents = true });
        await foreach (var _ in run.ReadEventsAsync().ConfigureAwait(false))
        {
        }

        var result = await run.Completion.ConfigureAwait(false);
        journal?.FinishRun(result);
        return result.Status;
    }

    private sealed class Columns : ManualConfig
    {
        public Columns() => AddColumn(new PerTaskColumn());
    }
}
