using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using ParallelFlow.Benchmarks.Baselines;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// The engine beside its peers on the same graphs, zero-work tasks, 2 workers: Taskflow (C++, its headers in
/// <c>../shared/peers</c>, built here with g++ into a harness process), Microsoft Agent Framework Workflows (in this
/// process, <see cref="MafGraph"/>, 1k tasks only), Dask's threaded scheduler (Debian's <c>python3-dask</c>, a harness
/// process, 1k tasks only), and the suite's hand-written .NET scheduler. Each operation
/// is <see cref="Runs"/> runs of the graph; a peer times its runs itself and the pipe to it costs one round trip per
/// operation (about 20–50 µs, under 1% of an operation at 1k tasks). Taskflow is the baseline of the Ratio column.
/// The engine's runs dispose their results (<see cref="RunResults"/>), as Taskflow's runs reuse their graph's state.
/// A peer that cannot run here (no g++, no headers, no dask) is left out with a note. Each case records the core round
/// trip at its start and end (<see cref="CoreRoundTripColumn"/>): run in process (<c>--in-process</c>) for that column.
/// </summary>
[Config(typeof(Setup))]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class PeerBenchmarks
{
    /// <summary>Runs of the graph per operation: enough that a peer's pipe round trip does not count.</summary>
    public const int Runs = 10;

    public const int Workers = 2;

    private Graph _graph = null!;
    private CompiledPlan _compiled = null!;
    private CompiledPlan _planOrder = null!;
    private string? _graphFile;
    private PeerProcess? _taskflow;
    private PeerProcess? _dask;
    private MafGraph? _maf;

    // The benchmark method this case runs, for the core round trip recorded at its end.
    private string? _method;

    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "chain";

    [Params(1_000, 100_000)]
    public int Tasks { get; set; }

    public static IEnumerable<string> Shapes => EngineOverheadBenchmarks.Shapes;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _graph = Graph.Create(Shape, Tasks);
        _compiled = NoWorkWorker.Compile(_graph, Workers);
        _planOrder = NoWorkWorker.Compile(_graph, Workers, TimeSpan.Zero);
        var file = _graphFile = Path.Combine(Path.GetTempPath(), $"parallelflow-peer-{Shape}-{Tasks}-{Environment.ProcessId}.txt");
        File.WriteAllText(file, Peers.GraphFile(_graph));
        if (Peers.TaskflowHarness() is { } harness)
        {
            _taskflow = PeerProcess.Start(harness, [file, Workers.ToString(CultureInfo.InvariantCulture)]);
        }

        if (Tasks <= Peers.MafMaxTasks)
        {
            _maf = new MafGraph(_graph);
        }

        if (Tasks <= Peers.DaskMaxTasks && Peers.DaskPython() is { } python)
        {
            _dask = PeerProcess.Start(python, [Peers.DaskScript, file, Workers.ToString(CultureInfo.InvariantCulture)]);
        }

        CoreRoundTripColumn.Start(typeof(PeerBenchmarks), (nameof(Shape), Shape), (nameof(Tasks), Tasks));
    }

    [GlobalCleanup]
    public void GlobalCleanup()
    {
        CoreRoundTripColumn.End(typeof(PeerBenchmarks), _method, (nameof(Shape), Shape), (nameof(Tasks), Tasks));
        _taskflow?.Dispose();
        _dask?.Dispose();
        // The graph the peers' harnesses read, once they have ended.
        File.Delete(_graphFile!);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Runs, Description = "Taskflow (C++)")]
    public long Taskflow()
    {
        _method = nameof(Taskflow);
        return _taskflow!.Run(Runs);
    }

    [Benchmark(OperationsPerInvoke = Runs, Description = "ParallelFlow")]
    public async Task<RunStatus> ParallelFlow()
    {
        _method = nameof(ParallelFlow);
        var status = RunStatus.Succeeded;
        for (var i = 0; i < Runs; i++)
        {
            status = await _compiled.RunAsync().StatusAsync().ConfigureAwait(false);
        }

        return status;
    }

    /// <summary>The same graph with every task's estimate zero: each remaining path is then as long as any other, and
    /// the critical path's order is plan order. Taskflow keeps no order at all: its workers each follow the dependents
    /// they made ready. Beside <see cref="ParallelFlow"/>, this shows what the order costs: on the wavefront, critical
    /// path first takes the tasks of each anti-diagonal in turn, so the two workers take neighbouring tasks and every
    /// dependency count is written by both cores; in plan order each worker follows a row.</summary>
    [Benchmark(OperationsPerInvoke = Runs, Description = "ParallelFlow, plan order")]
    public async Task<RunStatus> ParallelFlowPlanOrder()
    {
        _method = nameof(ParallelFlowPlanOrder);
        var status = RunStatus.Succeeded;
        for (var i = 0; i < Runs; i++)
        {
            status = await _planOrder.RunAsync().StatusAsync().ConfigureAwait(false);
        }

        return status;
    }

    [Benchmark(OperationsPerInvoke = Runs, Description = "hand-written .NET")]
    public async Task HandWritten()
    {
        _method = nameof(HandWritten);
        for (var i = 0; i < Runs; i++)
        {
            await EventDrivenScheduler.RunAsync(_graph, Workers, static _ => ValueTask.CompletedTask).ConfigureAwait(false);
        }
    }

    [Benchmark(OperationsPerInvoke = Runs, Description = "MAF Workflows")]
    public async Task<int> Maf()
    {
        _method = nameof(Maf);
        var ran = 0;
        for (var i = 0; i < Runs; i++)
        {
            ran = await _maf!.RunAsync().ConfigureAwait(false);
        }

        return ran;
    }

    [Benchmark(OperationsPerInvoke = Runs, Description = "Dask threaded")]
    public long Dask()
    {
        _method = nameof(Dask);
        return _dask!.Run(Runs);
    }

    /// <summary>The per-task and core round trip columns, and the filter that leaves out the peers this machine cannot run.</summary>
    private sealed class Setup : ManualConfig
    {
        public Setup()
        {
            AddColumn(new ValueColumn("per task", "Mean ÷ tasks (one run of the graph)", UnitType.Dimensionless,
                (c, mean) => mean is { } ns ? (ns / (int)c.Parameters["Tasks"] / 1000).ToString("0.000 µs", CultureInfo.InvariantCulture) : "-"));
            AddColumn(new CoreRoundTripColumn());
            var taskflow = Peers.TaskflowHarness() is not null;
            var dask = Peers.DaskPython() is not null;
            if (!taskflow)
            {
                Console.WriteLine($"PeerBenchmarks: Taskflow left out: {Peers.TaskflowMissing}");
            }

            if (!dask)
            {
                Console.WriteLine("PeerBenchmarks: Dask left out: /usr/bin/python3 cannot import dask (apt-get install python3-dask)");
            }

            AddFilter(new SimpleFilter(c => c.Descriptor.WorkloadMethod.Name switch
            {
                nameof(Taskflow) => taskflow,
                nameof(Dask) => dask && (int)c.Parameters["Tasks"] <= Peers.DaskMaxTasks,
                nameof(Maf) => (int)c.Parameters["Tasks"] <= Peers.MafMaxTasks,
                _ => true,
            }));
        }
    }
}

/// <summary>Where the peers are, and the graph file their harnesses read.</summary>
internal static class Peers
{
    /// <summary>Dask's threaded scheduler takes 40–70 µs a task: 100k tasks would be minutes per iteration.</summary>
    public const int DaskMaxTasks = 10_000;

    /// <summary>MAF's supersteps take 15–70 µs a task: the same holds.</summary>
    public const int MafMaxTasks = 10_000;

    private static readonly Lazy<string?> Harness = new(BuildTaskflowHarness);

    public static string TaskflowMissing { get; private set; } = string.Empty;

    public static string Root => Repository.Root;

    public static string DaskScript => Path.Combine(Root, "benchmarks", "peers", "dask-harness.py");

    /// <summary>The task count, then per task its predecessor count and predecessors.</summary>
    public static string GraphFile(Graph graph)
    {
        var text = new System.Text.StringBuilder().Append(graph.Count).Append('\n');
        foreach (var predecessors in graph.Predecessors)
        {
            text.Append(predecessors.Length);
            foreach (var p in predecessors)
            {
                text.Append(' ').Append(p);
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The Taskflow harness, built with g++ when its source or the headers are newer than it; null (with
    /// <see cref="TaskflowMissing"/> saying why) when it cannot be.</summary>
    public static string? TaskflowHarness() => Harness.Value;

    public static string? DaskPython()
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python))
        {
            return null;
        }

        using var probe = Process.Start(new ProcessStartInfo(python, ["-c", "import dask.threaded"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        probe.WaitForExit(30_000);
        return probe.ExitCode == 0 ? python : null;
    }

    private static string? BuildTaskflowHarness()
    {
        var headers = Environment.GetEnvironmentVariable("PARALLELFLOW_PEERS") ?? Path.GetFullPath(Path.Combine(Root, "..", "shared", "peers"));
        if (!File.Exists(Path.Combine(headers, "taskflow", "taskflow.hpp")))
        {
            TaskflowMissing = $"no Taskflow headers in {headers} (set PARALLELFLOW_PEERS to the folder that holds taskflow/)";
            return null;
        }

        var source = Path.Combine(Root, "benchmarks", "peers", "taskflow-harness.cpp");
        var output = Path.Combine(Root, "artifacts", "peers", "taskflow-harness");
        if (File.Exists(output) && File.GetLastWriteTimeUtc(output) > File.GetLastWriteTimeUtc(source))
        {
            return output;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        try
        {
            using var gcc = Process.Start(new ProcessStartInfo("g++", ["-O2", "-std=c++20", "-pthread", "-I", headers, source, "-o", output]) { RedirectStandardError = true })!;
            var errors = gcc.StandardError.ReadToEnd();
            gcc.WaitForExit();
            if (gcc.ExitCode != 0)
            {
                TaskflowMissing = $"g++ could not build {source}: {errors.Split('\n').FirstOrDefault()}";
                return null;
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            TaskflowMissing = "no g++ on this machine (apt-get install g++)";
            return null;
        }

        return output;
    }
}

/// <summary>A peer's harness process: it answers "ready" once its graph is built, then "ok NANOSECONDS" to each
/// "run K". Stopped with "quit", else by its PID.</summary>
internal sealed class PeerProcess : IDisposable
{
    private readonly Process _process;

    private PeerProcess(Process process) => _process = process;

    public static PeerProcess Start(string program, string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        var ready = process.StandardOutput.ReadLine();
        if (ready?.StartsWith("ready", StringComparison.Ordinal) != true)
        {
            process.Kill();
            throw new InvalidOperationException($"{program} did not start: {ready}");
        }

        return new PeerProcess(process);
    }

    /// <summary>Runs the graph <paramref name="times"/> times in the peer; its own measure of them, in nanoseconds.</summary>
    public long Run(int times)
    {
        _process.StandardInput.WriteLine($"run {times}");
        _process.StandardInput.Flush();
        var answer = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the peer ended");
        return long.Parse(answer.AsSpan(3), CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.WriteLine("quit");
            _process.StandardInput.Flush();
        }
        catch (IOException)
        {
        }

        if (!_process.WaitForExit(5_000))
        {
            _process.Kill();
        }

        _process.Dispose();
    }
}
