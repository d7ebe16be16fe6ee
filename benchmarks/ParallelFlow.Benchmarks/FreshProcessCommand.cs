using System.Diagnostics;
using System.Globalization;
using System.Text;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// <c>--fresh-process [--cli PATH]... [--native PATH] [--runs N] [--hosted-only]</c>: what a user pays in a new process, which BenchmarkDotNet's warmed
/// loop never shows. For each build of the command (the Release build by default; add a ReadyToRun publish with
/// another <c>--cli</c>), started afresh every time: the wall time of <c>--version</c>; of <c>validate</c> of a small
/// plan of built-in workers with the repository's plugins.json and with an empty one, and of a plan that needs a
/// plugin's worker (so its plugins load); and, from <c>bench</c> of a 1,000-task chain of zero-second <c>simulate</c> tasks run 300 times
/// in one process, its first run against the median of runs 7–12 (early) and of the last 50 (warm) — once with the
/// worker's default output, which it makes on a task's first run (the text "&lt;id&gt; done", kept for the next runs), and
/// once with an <c>output</c> given, made when the plan is compiled, so that every run asks the same of the worker and
/// only the engine's own first run shows. The early runs are
/// not warm: a process's first megabytes of allocations touch fresh pages, and the engine's code is still unoptimised
/// or ReadyToRun code until the runtime recompiles it, which a command seldom lives long enough to see.
/// Medians over the processes; a table on stdout. Then the engine hosted in a new process (<see cref="ChildAsync"/>):
/// its first run right after the warm-up's first pass, and six seconds later, once its later passes have had the
/// runtime recompile the engine's code optimised, as a service's first request comes after its start-up. With
/// <c>--native</c>, the natively compiled example host (examples/ParallelFlow.Examples.NativeAot, published) the same
/// way: no code to compile at all, so its first run shows what is left. Last, the same chain on Taskflow in a new
/// harness process, at once and after the same wait: the machine's own first-run cost.
/// </summary>
internal static class FreshProcessCommand
{
    // Runs of the 1k chain per process: the last 50 are well past the first collection and the runtime's recompiling.
    private const int Repeats = 300;

    public static async Task<int> RunAsync(string[] args)
    {
        var runs = args.SkipWhile(a => a != "--runs").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(7);
        var root = Repository.Root;

        var clis = Values(args, "--cli").ToList();
        if (clis.Count == 0)
        {
            clis.Add(Path.Combine(root, "engine/ParallelFlow.Cli/bin/Release/net10.0/parallelflow"));
        }

        var native = Values(args, "--native").FirstOrDefault();
        if (native is not null && !File.Exists(native))
        {
            Console.Error.WriteLine($"{native}: not published; dotnet publish examples/ParallelFlow.Examples.NativeAot -c Release -r linux-x64 -o artifacts/aot (needs clang)");
            return 2;
        }

        var hostedOnly = args.Contains("--hosted-only");
        foreach (var cli in clis.Where(c => !hostedOnly && !File.Exists(c)))
        {
            Console.Error.WriteLine($"{cli}: not built; dotnet build engine/ParallelFlow.Cli -c Release (or publish it with -r linux-x64 -p:PublishReadyToRun=true)");
            return 2;
        }

        var folder = Directory.CreateTempSubdirectory("parallelflow-fresh-").FullName;
        try
        {
            var noPlugins = Path.Combine(folder, "no-plugins.json");
            await File.WriteAllTextAsync(noPlugins, """{ "plugins": [] }""");
            var chain = Path.Combine(folder, "chain-1000.json");
            await File.WriteAllTextAsync(chain, ChainPlan(1000, output: null));
            var chainGiven = Path.Combine(folder, "chain-1000-output.json");
            await File.WriteAllTextAsync(chainGiven, ChainPlan(1000, output: "done"));
            var small = Path.Combine(root, "examples/release-check.json");
            var needsPlugin = Path.Combine(root, "examples/processes.json");
            var plugins = Path.Combine(root, "plugins.json");

            Console.WriteLine($"{Environment.ProcessorCount} cores; load {File.ReadAllText("/proc/loadavg").Trim()}; medians of {runs} fresh processes each");
            if (!hostedOnly)
            {
                Console.WriteLine($"| build | --version (ms) | validate, plugins.json (ms) | validate, no plugins (ms) | validate, a plugin's worker (ms) | 1k chain: first run (ms) | runs 7–12 (ms) | runs {Repeats - 49}–{Repeats} (ms) | first ÷ runs 7–12 | first ÷ warm ({Repeats - 49}–{Repeats}) | output given: first run (ms) | runs 7–12 (ms) | runs {Repeats - 49}–{Repeats} (ms) | first ÷ warm |");
                Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            }

            foreach (var cli in hostedOnly ? [] : clis)
            {
                var version = new List<double>();
                var validate = new List<double>();
                var validateBare = new List<double>();
                var validatePlugin = new List<double>();
                var first = new List<double>();
                var early = new List<double>();
                var warm = new List<double>();
                var firstGiven = new List<double>();
                var earlyGiven = new List<double>();
                var warmGiven = new List<double>();
                for (var i = 0; i < runs; i++)
                {
                    version.Add(await WallAsync(cli, root, "--version"));
                    validate.Add(await WallAsync(cli, root, "validate", small, "--plugins", plugins));
                    validateBare.Add(await WallAsync(cli, root, "validate", small, "--plugins", noPlugins));
                    validatePlugin.Add(await WallAsync(cli, root, "validate", needsPlugin, "--plugins", plugins));
                    await BenchAsync(cli, root, folder, chain, noPlugins, first, early, warm);
                    await BenchAsync(cli, root, folder, chainGiven, noPlugins, firstGiven, earlyGiven, warmGiven);
                }

                var name = Path.GetRelativePath(root, cli);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {Median(version):0} | {Median(validate):0} | {Median(validateBare):0} | {Median(validatePlugin):0} | {Median(first):0.00} | {Median(early):0.00} | {Median(warm):0.00} | {Median(first.Zip(early, (f, e) => f / e)):0.00} | {Median(first.Zip(warm, (f, w) => f / w)):0.00} | {Median(firstGiven):0.00} | {Median(earlyGiven):0.00} | {Median(warmGiven):0.00} | {Median(firstGiven.Zip(warmGiven, (f, w) => f / w)):0.00} |"));
            }

            // The engine hosted in a process of its own (this program, JIT-compiled, as a service is built): started as
            // AddParallelFlow starts it, and its first run at once or after the host's start-up, as a first request comes.
            Console.WriteLine();
            Console.WriteLine($"Hosted in a new process (this program, JIT): the engine's warm-up started as a host starts it, then {Repeats} runs of the 1k chain (output given) from the time given; medians of {runs} processes");
            // Warm: the last case's last runs, recompiled and past the first collection. A case that starts at once runs
            // its 300 runs before the warm-up's later passes, on code not yet optimised: its own last runs are not warm.
            await FirstRunsAsync(runs, "0.00", wait => HostedAsync(root, wait));

            if (native is not null)
            {
                Console.WriteLine();
                Console.WriteLine($"Hosted in a natively compiled process ({Path.GetRelativePath(root, native)}): the engine's warm-up's first pass, then {Repeats} runs of the 1k chain (output given) in a pool from the time given; medians of {runs} processes");
                await FirstRunsAsync(runs, "0.000", async wait =>
                {
                    var text = await RunToEndAsync(native, root, chainGiven, "--repeat", Repeats.ToString(CultureInfo.InvariantCulture), "--wait", wait.TotalSeconds.ToString(CultureInfo.InvariantCulture));
                    return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => double.Parse(l, CultureInfo.InvariantCulture))];
                });
            }

            await TaskflowAsync(runs, folder);
            return 0;
        }
        finally
        {
            // The plans and CSV files written for the runs, none of them a result.
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// The same chain on Taskflow (C++, no JIT and no warm-up: <see cref="Peers.TaskflowHarness"/>), in a new harness
    /// process each time, its first run at once and after the same waits as the hosted case, against its own runs: what
    /// a new process's first run costs on this machine when no code needs compiling, so the engine's ratios above can
    /// be read against it. Each run is timed by the harness; left out with a note when the harness cannot be built.
    /// </summary>
    private static async Task TaskflowAsync(int runs, string folder)
    {
        Console.WriteLine();
        if (Peers.TaskflowHarness() is not { } harness)
        {
            Console.WriteLine($"Taskflow left out: {Peers.TaskflowMissing}");
            return;
        }

        var graph = Path.Combine(folder, "chain-1000.txt");
        await File.WriteAllTextAsync(graph, Peers.GraphFile(Graph.Create("chain", 1000)));
        Console.WriteLine($"Taskflow (C++) in a new harness process: its executor started, then {Repeats} runs of the 1k chain from the time given; medians of {runs} processes");
        await FirstRunsAsync(runs, "0.000", async wait =>
        {
            using var peer = PeerProcess.Start(harness, [graph, "2"]);
            await Task.Delay(wait);
            return Enumerable.Range(0, Repeats).Select(_ => peer.Run(1) / 1e6).ToList();
        });
    }

    /// <summary>For each of <see cref="HostedWaits"/>, <paramref name="runs"/> new processes (<paramref name="process"/>:
    /// its <see cref="Repeats"/> runs' times in ms, its first run after the wait): a table row of the medians of their
    /// first run, runs 7–12 and the last 50, their own ratio, and the first run against the last case's last 50.</summary>
    private static async Task FirstRunsAsync(int runs, string format, Func<TimeSpan, Task<List<double>>> process)
    {
        Console.WriteLine($"| first run after | first run (ms) | runs 7–12 (ms) | runs {Repeats - 49}–{Repeats} (ms) | first ÷ runs {Repeats - 49}–{Repeats} | first ÷ warm (runs {Repeats - 49}–{Repeats} of the last case) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        var cases = new List<(TimeSpan Wait, List<double> First, List<double> Early, List<double> Late)>();
        foreach (var wait in HostedWaits)
        {
            var (first, early, late) = (new List<double>(), new List<double>(), new List<double>());
            for (var i = 0; i < runs; i++)
            {
                var milliseconds = await process(wait);
                first.Add(milliseconds[0]);
                early.Add(Median(milliseconds.Skip(6).Take(6)));
                late.Add(Median(milliseconds.TakeLast(50)));
            }

            cases.Add((wait, first, early, late));
        }

        var warmest = Median(cases[^1].Late);
        foreach (var (wait, first, early, late) in cases)
        {
            var (f, e, l) = (Median(first), Median(early), Median(late));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {wait.TotalSeconds:0} s | {f.ToString(format, CultureInfo.InvariantCulture)} | {e.ToString(format, CultureInfo.InvariantCulture)} | {l.ToString(format, CultureInfo.InvariantCulture)} | {Median(first.Zip(late, (x, y) => x / y)):0.00} | {f / warmest:0.00} |"));
        }
    }

    // When the hosted case's first run comes after the warm-up's first pass: at once (as a command's), and once its later
    // passes are over (the last starts about 4.3 s after the first ends), as a service's first request after its start-up.
    private static readonly TimeSpan[] HostedWaits = [TimeSpan.Zero, TimeSpan.FromSeconds(6)];

    /// <summary>Runs this program's hosted case (<see cref="ChildAsync"/>) in a new process; its runs' times in ms.</summary>
    private static async Task<List<double>> HostedAsync(string root, TimeSpan wait)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(FreshProcessCommand).Assembly.Location);
        }

        start.ArgumentList.Add(ChildFlag);
        start.ArgumentList.Add(wait.TotalSeconds.ToString(CultureInfo.InvariantCulture));
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using (var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{ChildFlag} {wait.TotalSeconds} did not finish within 2 minutes");
            }
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{ChildFlag} exited with {process.ExitCode}: {await output}{await error}");
        }

        return [.. (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => double.Parse(l, CultureInfo.InvariantCulture))];
    }

    /// <summary>The flag of the hosted case's process.</summary>
    public const string ChildFlag = "--fresh-process-hosted";

    /// <summary>
    /// <c>--fresh-process-hosted SECONDS</c>, the hosted case in its own process: starts the engine's warm-up as a host
    /// does (<c>AddParallelFlow</c>'s hosted service, its later passes included), compiles the 1k chain with an output
    /// given, waits for the warm-up's first pass (as the command does) and then the given time, then runs the chain
    /// <see cref="Repeats"/> times, one after another, in a pool of its own as a service does, and writes each run's
    /// time (its <see cref="RunResult.Elapsed"/>) in milliseconds, one a line. Its own first await of a run is compiled
    /// before the wait: that is the caller's code, paid once by whatever a call site awaits (0.1–1 ms here, on the
    /// thread whose queue holds the run's first task), not the engine's.
    /// </summary>
    public static async Task<int> ChildAsync(string[] args)
    {
        var wait = TimeSpan.FromSeconds(double.Parse(args[Array.IndexOf(args, ChildFlag) + 1], CultureInfo.InvariantCulture));
        var warmUp = EngineWarmUp.Start(optimise: true);
        // The command's plan with an output given, as its processes run it.
        var compiled = new ParallelFlowEngine().Compile(PlanLoader.Parse(ChainPlan(1000, output: "done"), PlanFormat.Json, "chain-1000-output.json"));
        _ = await Task.Delay(1).ContinueWith(_ => (RunResult?)null, TaskScheduler.Default).ConfigureAwait(false);
        await warmUp.ConfigureAwait(false);
        await Task.Delay(wait).ConfigureAwait(false);

        // In a pool, as a service's runs are (its journal, when it has one, is left out).
        var pool = new ParallelFlowPool(new PoolOptions { Workers = 2 });
        var milliseconds = new List<double>(Repeats);
        for (var run = 0; run < Repeats; run++)
        {
            using var result = await compiled.RunAsync(new RunOptions { Strategy = SchedulingStrategies.CriticalPath, Workers = 2, Pool = pool }).ConfigureAwait(false);
            milliseconds.Add(result.Elapsed.TotalMilliseconds);
        }

        Console.WriteLine(string.Join('\n', milliseconds.Select(m => m.ToString("R", CultureInfo.InvariantCulture))));
        return 0;
    }

    /// <summary>Runs <c>bench</c> of <paramref name="plan"/> in a new process; adds its first run, the median of runs
    /// 7–12 and that of the last 50, in milliseconds.</summary>
    private static async Task BenchAsync(string cli, string root, string folder, string plan, string plugins, List<double> first, List<double> early, List<double> warm)
    {
        var csv = Path.Combine(folder, "bench.csv");
        await WallAsync(cli, root, "bench", plan, "--strategy", "critical_path", "--workers", "2", "--repeat", Repeats.ToString(CultureInfo.InvariantCulture), "--csv", csv, "--plugins", plugins);
        var seconds = File.ReadAllLines(csv).Skip(1).Select(l => double.Parse(l.Split(',')[3], CultureInfo.InvariantCulture) * 1000).ToList();
        first.Add(seconds[0]);
        early.Add(Median(seconds.Skip(6).Take(6)));
        warm.Add(Median(seconds.TakeLast(50)));
    }

    private static async Task<double> WallAsync(string cli, string root, params string[] args)
    {
        var clock = Stopwatch.StartNew();
        await RunToEndAsync(cli, root, args);
        return clock.Elapsed.TotalMilliseconds;
    }

    /// <summary>Runs a program in a new process to its end; its standard output. Throws when it exits with an error.</summary>
    private static async Task<string> RunToEndAsync(string program, string root, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited with {process.ExitCode}: {await output}{await error}");
        }

        return await output;
    }

    /// <summary>The value after each occurrence of <paramref name="flag"/> in the arguments.</summary>
    private static IEnumerable<string> Values(string[] args, string flag) =>
        args.Select((a, i) => (a, i)).Where(p => p.a == flag && p.i + 1 < args.Length).Select(p => args[p.i + 1]);

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string ChainPlan(int count, string? output)
    {
        var text = new StringBuilder("""{ "id": "chain", "tasks": [""");
        var with = output is null ? """{ "seconds": 0 }""" : $$"""{ "seconds": 0, "output": "{{output}}" }""";
        for (var i = 0; i < count; i++)
        {
            text.Append(i == 0 ? string.Empty : ",").Append(CultureInfo.InvariantCulture, $$"""{ "id": "t{{i}}", "worker": "simulate", "with": {{with}}{{(i == 0 ? string.Empty : $", \"depends_on\": [\"t{i - 1}\"]")}} }""");
        }

        return text.Append("] }").ToString();
    }
}
