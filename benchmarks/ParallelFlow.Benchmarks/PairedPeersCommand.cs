using System.Diagnostics;
using System.Globalization;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// <c>--paired-peers [ROUNDS]</c>: the engine and Taskflow on the same graphs as <see cref="PeerBenchmarks"/>, taking
/// turns every tenth of a second, so both run in the same placement of the cores.
/// </summary>
/// <remarks>
/// BenchmarkDotNet runs one case after another, a minute or so each. On a virtual machine whose host moves the two
/// virtual CPUs between near and far cores every few seconds or minutes (<see cref="CoreRoundTrip"/>), the engine's case
/// and Taskflow's may run in different placements, and their ratio then says more about the host than about either
/// scheduler. Here each round runs one side for about 100 ms, then the other (the order alternating), and records the
/// cache-line round trip just before the pair: a round's ratio compares the two in the same placement. The table
/// gives each case's median ratio over its rounds, its worst round, and the median ratio of the rounds in each
/// placement (a median of an even number of rounds is the upper of the two middle ones). It complements the
/// BenchmarkDotNet table, whose statistics it does not replace.
/// </remarks>
internal static class PairedPeersCommand
{
    private const int Workers = 2;

    // Whether a case of this process has warmed the engine's code up already.
    private static bool s_warmed;

    public static async Task<int> RunAsync(string[] args)
    {
        var index = Array.IndexOf(args, "--paired-peers");
        var rounds = index + 1 < args.Length && int.TryParse(args[index + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var r) && r > 0 ? r : 12;
        if (Peers.TaskflowHarness() is not { } harness)
        {
            Console.Error.WriteLine($"Taskflow is not available: {Peers.TaskflowMissing}");
            return 1;
        }

        Console.WriteLine($"Paired rounds: the engine and Taskflow take turns, about 100 ms each, {rounds} rounds a case; {Workers} workers, zero-work tasks.");
        Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}, load {Load()} at the start.");
        Console.WriteLine();
        Console.WriteLine("| graph | tasks | ParallelFlow µs/task (median) | Taskflow µs/task (median) | ratio, median | worst round | rounds near / far | ratio near / far |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var tasks in new[] { 1_000, 100_000 })
        {
            foreach (var shape in EngineOverheadBenchmarks.Shapes)
            {
                await CaseAsync(harness, shape, tasks, rounds).ConfigureAwait(false);
            }
        }

        Console.WriteLine();
        Console.WriteLine($"Load {Load()} at the end. Near: a core round trip below {CoreRoundTrip.FarNanoseconds:F0} ns before the pair.");
        return 0;
    }

    private static async Task CaseAsync(string harness, string shape, int tasks, int rounds)
    {
        var graph = Graph.Create(shape, tasks);
        var compiled = NoWorkWorker.Compile(graph, Workers);
        var file = Path.Combine(Path.GetTempPath(), $"parallelflow-paired-{shape}-{tasks}-{Environment.ProcessId}.txt");
        await File.WriteAllTextAsync(file, Peers.GraphFile(graph)).ConfigureAwait(false);
        try
        {
            using var taskflow = PeerProcess.Start(harness, [file, Workers.ToString(CultureInfo.InvariantCulture)]);
            // About 100 ms a turn at 0.05 µs a task; at least one run.
            var runs = Math.Max(1, 2_000_000 / tasks);
            // Warm both sides: the engine's tiers and Taskflow's threads. The process's first case warms for two seconds
            // at least: the runtime recompiles the engine's code optimised only after its start-up has gone quiet, and
            // in three turns of the first case the chain still ran partly unoptimised (twice its later figure).
            var warming = Stopwatch.StartNew();
            for (var i = 0; i < 3 || (!s_warmed && warming.Elapsed < TimeSpan.FromSeconds(2)); i++)
            {
                await EngineAsync(compiled, runs).ConfigureAwait(false);
                taskflow.Run(runs);
            }

            s_warmed = true;

            var rows = new List<(double Engine, double Taskflow, bool Far)>();
            for (var round = 0; round < rounds; round++)
            {
                var far = CoreRoundTrip.Measure(TimeSpan.FromMilliseconds(20)) is { } trip && trip >= CoreRoundTrip.FarNanoseconds;
                double engine;
                double peer;
                if (round % 2 == 0)
                {
                    engine = await EngineAsync(compiled, runs).ConfigureAwait(false);
                    peer = taskflow.Run(runs);
                }
                else
                {
                    peer = taskflow.Run(runs);
                    engine = await EngineAsync(compiled, runs).ConfigureAwait(false);
                }

                var perRun = 1_000.0 * runs * tasks;
                rows.Add((engine / perRun, peer / perRun, far));
            }

            var ratios = rows.Select(row => row.Engine / row.Taskflow).ToList();
            var near = rows.Where(row => !row.Far).Select(row => row.Engine / row.Taskflow).ToList();
            var farRatios = rows.Where(row => row.Far).Select(row => row.Engine / row.Taskflow).ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {shape} | {tasks:N0} | {Median(rows.Select(row => row.Engine))} | {Median(rows.Select(row => row.Taskflow))} | **{Median(ratios):F2}** | {ratios.Max():F2} | {near.Count} / {farRatios.Count} | {(near.Count > 0 ? Median(near).ToString("F2", CultureInfo.InvariantCulture) : "–")} / {(farRatios.Count > 0 ? Median(farRatios).ToString("F2", CultureInfo.InvariantCulture) : "–")} |"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>The engine's side of a turn: <paramref name="runs"/> runs one after another, in nanoseconds.</summary>
    private static async Task<double> EngineAsync(Engine.Execution.CompiledPlan compiled, int runs)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < runs; i++)
        {
            var status = await compiled.RunAsync().StatusAsync().ConfigureAwait(false);
            if (status != Engine.Execution.RunStatus.Succeeded)
            {
                throw new InvalidOperationException($"a run ended {status}");
            }
        }

        return Stopwatch.GetElapsedTime(start).TotalMilliseconds * 1_000_000;
    }

    /// <summary>The middle value; of an even number, the upper of the two middle ones.</summary>
    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return Math.Round(sorted[sorted.Count / 2], 4);
    }

    private static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";
}
