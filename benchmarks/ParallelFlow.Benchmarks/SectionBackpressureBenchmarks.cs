using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Plugins.Merging;
using ParallelFlow.Sdk;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// Does a section task keep memory flat as the section count grows? 1k, 10k and 100k sections, each a zero-work
/// worker call, concatenated to a file: the engine's bounded block (capacity 16) beside a baseline that starts every
/// section at once and merges when all are done. Each case runs in its own process, so the process's peak working set
/// is that case's peak; a column reports it with the peak number of sections in flight.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PeakColumns))]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class SectionBackpressureBenchmarks
{
    private static readonly string Output = Path.Combine(Path.GetTempPath(), "parallelflow-sections.txt");
    private CompiledPlan _plan = null!;
    private int _peakInFlight;

    [Params(1_000, 10_000, 100_000)]
    public int Sections { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("echo", new EchoWorker());
        catalog.AddMerger("concat", new ConcatMerger());
        var engine = new ParallelFlowEngine(new EngineOptions { Catalog = catalog });
        var plan = PlanLoader.Parse(
            $$$"""
            { "tasks": [ { "id": "many", "worker": "section", "with": {
                "decompose": { "count": {{{Sections}}} }, "worker": "echo", "with": { "text": "section {{section}}" },
                "parallelism": 2, "capacity": 16, "merger": "concat", "merging": { "output_file": "{{{Output}}}" } } } ] }
            """,
            PlanFormat.Json,
            "sections.json",
            catalog);
        _plan = engine.Compile(plan);
    }

    [Benchmark(Baseline = true, Description = "all at once, merge at the end")]
    public async Task<int> AllAtOnce()
    {
        var worker = new EchoWorker();
        var running = Enumerable.Range(1, Sections).Select(i => worker.ExecuteAsync(
            new TaskRequest { TaskId = "many", WorkerName = "echo", With = System.Text.Json.JsonDocument.Parse($$"""{ "text": "section {{i}}" }""").RootElement },
            CancellationToken.None).AsTask()).ToList();
        _peakInFlight = Math.Max(_peakInFlight, running.Count);
        var results = await Task.WhenAll(running).ConfigureAwait(false);
        await File.WriteAllLinesAsync(Output, results.Select(r => r.Text!)).ConfigureAwait(false);
        return results.Length;
    }

    [Benchmark(Description = "section task, capacity 16")]
    public async Task<int> SectionTask()
    {
        var result = await _plan.RunAsync().ConfigureAwait(false);
        var record = result.Tasks[0].Result!.Record!.Value;
        _peakInFlight = Math.Max(_peakInFlight, record.GetProperty("peak_in_flight").GetInt32());
        return record.GetProperty("succeeded").GetInt32();
    }

    [GlobalCleanup(Target = nameof(AllAtOnce))]
    public void CleanupAllAtOnce() => WritePeaks(nameof(AllAtOnce));

    [GlobalCleanup(Target = nameof(SectionTask))]
    public void CleanupSectionTask() => WritePeaks(nameof(SectionTask));

    private void WritePeaks(string method)
    {
        using var process = Process.GetCurrentProcess();
        File.WriteAllText(PeakColumns.FileFor(method, Sections), string.Create(CultureInfo.InvariantCulture, $"{process.PeakWorkingSet64 / (1024.0 * 1024.0):0.0}\t{_peakInFlight}"));
    }

    private sealed class EchoWorker : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TaskResult.FromText(request.GetString("text") ?? string.Empty));
    }

    /// <summary>Peak working set and peak sections in flight, read from what each case's process wrote at cleanup.</summary>
    private sealed class PeakColumns : ManualConfig
    {
        public PeakColumns()
        {
            AddColumn(new PeakColumn("Peak working set (MB)", 0), new PeakColumn("Peak in flight", 1));
        }

        public static string FileFor(string method, int sections) => Path.Combine(Path.GetTempPath(), $"parallelflow-peak-{method}-{sections}.txt");

        private sealed class PeakColumn(string name, int index) : IColumn
        {
            public string Id => name;

            public string ColumnName => name;

            public bool AlwaysShow => true;

            public ColumnCategory Category => ColumnCategory.Metric;

            public int PriorityInCategory => index;

            public bool IsNumeric => true;

            public UnitType UnitType => UnitType.Dimensionless;

            public string Legend => index == 0 ? "The case's process peak working set" : "Most sections started and not yet merged";

            public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

            public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
            {
                var sections = (int)benchmarkCase.Parameters["Sections"];
                var file = FileFor(benchmarkCase.Descriptor.WorkloadMethod.Name, sections);
                return File.Exists(file) ? File.ReadAllText(file).Split('\t')[index] : "?";
            }

            public bool IsAvailable(Summary summary) => true;

            public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        }
    }
}
