using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Orleans;

namespace ParallelFlow.Benchmarks;

/// <summary>A cluster of real processes on this machine: a <c>redis-server</c> on 127.0.0.1 and a free port for the
/// membership, and <c>parallelflow silo</c> processes of the Release build (build <c>engine/ParallelFlow.Cli -c
/// Release</c> first); this process is the coordinator. Everything started is stopped by PID.</summary>
internal sealed class SiloProcesses : IAsyncDisposable
{
    private readonly List<Process> _processes = [];

    private SiloProcesses()
    {
    }

    public ClusterSession Session { get; private set; } = null!;

    public static async Task<SiloProcesses> StartAsync(int silos, int slotsPerSilo)
    {
        var cli = Path.Combine(Traces.RepositoryRoot, "engine/ParallelFlow.Cli/bin/Release/net10.0/parallelflow.dll");
        if (!File.Exists(cli))
        {
            throw new InvalidOperationException($"{cli} is missing: build it first with dotnet build engine/ParallelFlow.Cli -c Release");
        }

        var cluster = new SiloProcesses();
        try
        {
            var port = FreePort();
            cluster.Start("redis-server", "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no");
            var connection = $"redis://127.0.0.1:{port}";
            for (var i = 0; i < silos; i++)
            {
                cluster.Start("dotnet", cli, "silo", "--cluster", connection, "--slots", slotsPerSilo.ToString(CultureInfo.InvariantCulture));
            }

            var clock = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    cluster.Session = await ParallelFlowCluster.ConnectAsync(ClusterConnection.Parse(connection), null, TimeSpan.FromSeconds(30), null, CancellationToken.None).ConfigureAwait(false);
                    break;
                }
                catch (Exception) when (clock.Elapsed < TimeSpan.FromSeconds(30))
                {
                    // redis-server or the first silo is not up yet.
                    await Task.Delay(200).ConfigureAwait(false);
                }
            }

            while (cluster.Session.Dispatcher.Silos.Count < silos)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new InvalidOperationException($"only {cluster.Session.Dispatcher.Silos.Count} of {silos} silos joined within 60 s");
                }

                await Task.Delay(100).ConfigureAwait(false);
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Session is not null)
        {
            await Session.DisposeAsync().ConfigureAwait(false);
        }

        // Silos first (SIGTERM: they leave the membership), redis-server last.
        foreach (var process in Enumerable.Reverse(_processes))
        {
            if (!process.HasExited)
            {
                using (var stop = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
                {
                    await stop.WaitForExitAsync().ConfigureAwait(false);
                }

                if (!process.WaitForExit(TimeSpan.FromSeconds(15)))
                {
                    process.Kill();
                }
            }

            process.Dispose();
        }
    }

    private void Start(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Insert(file == "redis-server" ? 0 : _processes.Count, process);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// What sending an attempt to a silo costs: zero-work tasks (the <c>template</c> worker) run in this process, and on
/// 1 and 2 silo processes, 8 at once. The per-task column is the remote dispatch's cost with the scheduler's; the ratio
/// is against in-process on the same plan.
/// </summary>
[Config(typeof(Columns))]
public class RemoteDispatchBenchmarks
{
    private SiloProcesses? _cluster;
    private CompiledPlan _plan = null!;

    [Params(1_000)]
    public int Tasks { get; set; }

    [Params(1, 2)]
    public int Silos { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var builder = new PlanBuilder("zero-work").WithWorkers(8);
        for (var i = 0; i < Tasks; i++)
        {
            builder.AddTask($"t{i}", "template", t => t.With(new { text = "x" }));
        }

        _plan = new ParallelFlowEngine().Compile(builder.Build());
        _cluster = SiloProcesses.StartAsync(Silos, slotsPerSilo: 8).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _cluster?.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, Description = "in process")]
    public async Task<RunStatus> InProcess() => (await _plan.RunAsync(new RunOptions()).ConfigureAwait(false)).Status;

    [Benchmark(Description = "on the cluster")]
    public async Task<RunStatus> OnCluster() => Checked(await _plan.RunAsync(new RunOptions { Dispatcher = _cluster!.Session.Dispatcher }).ConfigureAwait(false));

    internal static RunStatus Checked(RunResult result) =>
        result.Status == RunStatus.Succeeded ? result.Status : throw new InvalidOperationException($"the run {result.Status.ToString().ToLowerInvariant()}: {result.Tasks.FirstOrDefault(t => t.Error is not null)?.Error}");

    private sealed class Columns : ManualConfig
    {
        public Columns()
        {
            // This process is the coordinator; the silos live for the whole case.
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(10));
            AddColumn(new PerTaskColumn());
        }
    }
}

/// <summary>
/// Throughput of latency-bound work: 10,000 tasks that each wait 10 ms (the <c>simulate</c> worker), on 1, 2 and 4
/// silo processes of 32 slots, every slot in use (the run's workers are the cluster's slots). The ideal is 100 s of
/// waiting over the slots; what the table shows beyond it is the cost of dispatching, on one machine's 2 cores.
/// </summary>
[Config(typeof(Columns))]
public class ClusterThroughputBenchmarks
{
    private const int SlotsPerSilo = 32;
    private SiloProcesses? _cluster;
    private CompiledPlan _plan = null!;

    [Params(10_000)]
    public int Tasks { get; set; }

    [Params(1, 2, 4)]
    public int Silos { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var builder = new PlanBuilder("latency-bound");
        for (var i = 0; i < Tasks; i++)
        {
            builder.AddTask($"t{i}", "simulate", t => t.With(new { seconds = 0.01 }));
        }

        _plan = new ParallelFlowEngine().Compile(builder.Build());
        _cluster = SiloProcesses.StartAsync(Silos, SlotsPerSilo).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _cluster?.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Description = "on the cluster")]
    public async Task<RunStatus> OnCluster() =>
        RemoteDispatchBenchmarks.Checked(await _plan.RunAsync(new RunOptions { Workers = Silos * SlotsPerSilo, Dispatcher = _cluster!.Session.Dispatcher }).ConfigureAwait(false));

    private sealed class Columns : ManualConfig
    {
        public Columns()
        {
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithStrategy(RunStrategy.Monitoring)
                .WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3));
            AddColumn(new PerTaskColumn());
            AddColumn(new ValueColumn("× ideal", "Mean makespan over tasks × 10 ms / slots", UnitType.Dimensionless, (c, mean) =>
                ValueColumn.Ratio(mean, (int)c.Parameters["Tasks"] * 0.01 / ((int)c.Parameters["Silos"] * SlotsPerSilo), "0.00")));
        }
    }
}

/// <summary>
/// A WfCommons workflow replayed on the cluster (tasks sleep their scaled duration on the silos) against the same
/// replay in this process, with 8 workers: the makespan as a multiple of the case's critical path and of its lower
/// bound max(critical path, work / workers), scaled to 1 s. The trace is <c>PARALLELFLOW_BENCH_TRACES</c>' first, else
/// montage (103 tasks).
/// </summary>
[Config(typeof(Columns))]
public class ClusterMakespanBenchmarks
{
    private const int Workers = 8;
    private SiloProcesses? _cluster;
    private ReplayCase _case = null!;
    private CompiledPlan _compiled = null!;

    public static IEnumerable<string> TraceNames => [MakespanBenchmarks.TraceNames.First()];

    [ParamsSource(nameof(TraceNames))]
    public string Trace { get; set; } = "";

    [Params(2)]
    public int Silos { get; set; }

    internal static double BoundSeconds => 1.0;

    [GlobalSetup]
    public void Setup()
    {
        _case = ReplayCase.Get(Trace, Workers, "sleep", BoundSeconds);
        _compiled = new ParallelFlowEngine().Compile(_case.Plan);
        // Slots enough for the run's workers on any one silo: placement, not capacity, spreads the work.
        _cluster = SiloProcesses.StartAsync(Silos, slotsPerSilo: Workers).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _cluster?.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, Description = "in process")]
    public async Task<RunStatus> InProcess() => RemoteDispatchBenchmarks.Checked(await _compiled.RunAsync(new RunOptions { Workers = Workers }).ConfigureAwait(false));

    [Benchmark(Description = "on the cluster")]
    public async Task<RunStatus> OnCluster() =>
        RemoteDispatchBenchmarks.Checked(await _compiled.RunAsync(new RunOptions { Workers = Workers, Dispatcher = _cluster!.Session.Dispatcher }).ConfigureAwait(false));

    private sealed class Columns : ManualConfig
    {
        public Columns()
        {
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithStrategy(RunStrategy.Monitoring)
                .WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5));
            AddColumn(Bound("× critical path", replay => replay.CriticalPathSeconds));
            AddColumn(Bound("× lower bound", replay => replay.LowerBoundSeconds));
        }

        private static ValueColumn Bound(string name, Func<ReplayCase, double> seconds) =>
            new(name, $"Mean makespan over the case's {name.TrimStart('×', ' ')}", UnitType.Dimensionless,
                (c, mean) => ValueColumn.Ratio(mean, seconds(ReplayCase.Get((string)c.Parameters["Trace"], Workers, "sleep", BoundSeconds))));
    }
}
