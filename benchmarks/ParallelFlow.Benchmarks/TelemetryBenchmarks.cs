using System.Diagnostics;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Benchmarks;

/// <summary>What does seeing a run cost? 1,000 zero-work tasks on 2 workers, a compiled plan run once per operation:
/// nobody listening (the baseline); the attempts recorded for a timeline (<see cref="RunOptions.RecordAttempts"/>, as
/// the command does for --html and --trace); every span recorded by an <see cref="ActivityListener"/> (what an
/// OpenTelemetry tracer that samples everything does before exporting); every metric measured by a
/// <see cref="MeterListener"/>.</summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class TelemetryBenchmarks
{
    private CompiledPlan _compiled = null!;
    private ActivityListener? _spans;
    private MeterListener? _metrics;
    private long _measurements;

    [Params("chain", "layered-random")]
    public string Shape { get; set; } = "chain";

    [Params(1_000)]
    public int Tasks { get; set; }

    [GlobalSetup]
    public void Setup() => _compiled = NoWorkWorker.Compile(Graph.Create(Shape, Tasks), workers: 2);

    [GlobalSetup(Target = nameof(Traced))]
    public void SetupTraced()
    {
        Setup();
        _spans = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ParallelFlowTelemetry.ActivitySourceName,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_spans);
    }

    [GlobalSetup(Target = nameof(Measured))]
    public void SetupMeasured()
    {
        Setup();
        _metrics = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ParallelFlowTelemetry.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _metrics.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _metrics.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _metrics.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _spans?.Dispose();
        _metrics?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "nobody listening")]
    public async Task<RunStatus> Quiet() => (await _compiled.RunAsync().ConfigureAwait(false)).Status;

    [Benchmark(Description = "attempts recorded")]
    public async Task<RunStatus> Recorded() => (await _compiled.RunAsync(new RunOptions { RecordAttempts = true }).ConfigureAwait(false)).Status;

    [Benchmark(Description = "every span recorded")]
    public async Task<RunStatus> Traced() => (await _compiled.RunAsync().ConfigureAwait(false)).Status;

    [Benchmark(Description = "every metric measured")]
    public async Task<RunStatus> Measured() => (await _compiled.RunAsync().ConfigureAwait(false)).Status;
}
