using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Workers;

namespace ParallelFlow.Benchmarks;

/// <summary>Does loading and validating a plan file grow linearly with its tasks? A plan file of 1k, 10k and 100k
/// tasks, each with up to three dependencies on earlier tasks (layered, 100 wide), written as JSON on one line (the
/// case that was quadratic: columns were counted from the line's start for every token), as indented JSON and as
/// YAML, read, bound and validated against the built-in workers — what <c>parallelflow validate</c> does. Linear means
/// a constant "per task" column, and a ratio of 10 from one size to the next.</summary>
[MemoryDiagnoser]
[Config(typeof(Columns))]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class PlanLoadBenchmarks
{
    private readonly WorkerCatalog _catalog = BuiltInWorkers.CreateCatalog();
    private string _path = null!;

    [Params(1_000, 10_000, 100_000)]
    public int Tasks { get; set; }

    [Params("json-one-line", "json", "yaml")]
    public string Format { get; set; } = "json";

    [GlobalSetup]
    public void Setup()
    {
        var folder = Directory.CreateTempSubdirectory("parallelflow-load-").FullName;
        _path = Path.Combine(folder, Format == "yaml" ? "plan.yaml" : "plan.json");
        File.WriteAllText(_path, Write(Tasks, Format));
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(Path.GetDirectoryName(_path)!, recursive: true);

    [Benchmark(Description = "load + validate")]
    public int Load() => PlanLoader.LoadFile(_path, _catalog).Tasks.Count;

    /// <summary>A plan of <paramref name="count"/> simulate tasks; task i depends on up to three of the 100 before it.</summary>
    public static string Write(int count, string format)
    {
        var random = new Random(42);
        var text = new StringBuilder();
        var yaml = format == "yaml";
        var newline = format == "json-one-line" ? string.Empty : "\n";
        text.Append(yaml ? "id: load\ntasks:\n" : "{\"id\":\"load\",\"tasks\":[" + newline);
        for (var i = 0; i < count; i++)
        {
            var dependencies = i < 100 ? [] : Enumerable.Range(0, 3).Select(_ => $"t{i - random.Next(1, 101)}").Distinct().ToArray();
            if (yaml)
            {
                text.Append(CultureInfo.InvariantCulture, $"  - id: t{i}\n    worker: simulate\n    with: {{ seconds: 0 }}\n");
                if (dependencies.Length > 0)
                {
                    text.Append(CultureInfo.InvariantCulture, $"    depends_on: [{string.Join(", ", dependencies)}]\n");
                }
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? "" : "," + newline)}{{\"id\":\"t{i}\",\"worker\":\"simulate\",\"with\":{{\"seconds\":0}}");
                if (dependencies.Length > 0)
                {
                    text.Append(CultureInfo.InvariantCulture, $",\"depends_on\":[{string.Join(",", dependencies.Select(d => $"\"{d}\""))}]");
                }

                text.Append('}');
            }
        }

        text.Append(yaml ? string.Empty : newline + "]}");
        return text.ToString();
    }

    private sealed class Columns : ManualConfig
    {
        public Columns() => AddColumn(new PerTaskColumn());
    }
}
