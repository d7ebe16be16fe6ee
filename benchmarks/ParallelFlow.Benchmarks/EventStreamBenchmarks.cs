using BenchmarkDotNet.Attributes;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Benchmarks;

/// <summary>What does watching a run cost? 1,000 zero-work tasks on 2 workers, a compiled plan run once per operation
/// with its events streamed and read as they come (as the command and a live dashboard read them), beside the same run
/// with no events (the baseline). Unlike <see cref="JournalBenchmarks"/>, which needs a fresh journal per operation,
/// each iteration here runs many operations, so its figures hold to a few percent.</summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class EventStreamBenchmarks
{
    private CompiledPlan _compiled = null!;

    [Params("independent", "chain", "layered-random")]
    public string Shape { get; set; } = "chain";

    [Params(1_000)]
    public int Tasks { get; set; }

    [GlobalSetup]
    public void Setup() => _compiled = NoWorkWorker.Compile(Graph.Create(Shape, Tasks), workers: 2);

    [Benchmark(Baseline = true, Description = "no events")]
    public async Task<RunStatus> Quiet() => (await _compiled.RunAsync().ConfigureAwait(false)).Status;

    [Benchmark(Description = "events streamed")]
    public async Task<RunStatus> Streamed()
    {
        var run = _compiled.Start(new RunOptions { StreamEvents = true });
        await foreach (var _ in run.ReadEventsAsync().ConfigureAwait(false))
        {
        }

        return (await run.Completion.ConfigureAwait(false)).Status;
    }
}
