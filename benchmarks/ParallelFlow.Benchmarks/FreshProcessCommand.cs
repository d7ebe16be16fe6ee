using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// <c>--fresh-process [--cli PATH]... [--runs N]</c>: what a user pays in a new process, which BenchmarkDotNet's warmed
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
/// Medians over the processes; a table on stdout.
/// </summary>
internal static class FreshProcessCommand
{
    // Runs of the 1k chain per process: the last 50 are well past the first collection and the runtime's recompiling.
    private const int Repeats = 300;

    public static async Task<int> RunAsync(string[] args)
    {
        var runs = args.SkipWhile(a => a != "--runs").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(7);
        var root = Repository.Root;

        var clis = args.Select((a, i) => (a, i)).Where(p => p.a == "--cli" && p.i + 1 < args.Length).Select(p => args[p.i + 1]).ToList();
        if (clis.Count == 0)
        {
            clis.Add(Path.Combine(root, "engine/ParallelFlow.Cli/bin/Release/net10.0/parallelflow"));
        }

        foreach (var cli in clis.Where(c => !File.Exists(c)))
        {
            Console.Error.WriteLine($"{cli}: not built; dotnet build engine/ParallelFlow.Cli -c Release (or publish it with -r linux-x64 -p:PublishReadyToRun=true)");
            return 2;
        }

        var folder = Directory.CreateTempSubdirectory("parallelflow-fresh-").FullName;
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
        Console.WriteLine($"| build | --version (ms) | validate, plugins.json (ms) | validate, no plugins (ms) | validate, a plugin's worker (ms) | 1k chain: first run (ms) | runs 7–12 (ms) | runs {Repeats - 49}–{Repeats} (ms) | first ÷ runs 7–12 | first ÷ warm ({Repeats - 49}–{Repeats}) | output given: first run (ms) | runs 7–12 (ms) | runs {Repeats - 49}–{Repeats} (ms) | first ÷ warm |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var cli in clis)
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
        var start = new ProcessStartInfo(cli) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var elapsed = clock.Elapsed.TotalMilliseconds;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{cli} {string.Join(' ', args)} exited with {process.ExitCode}: {await output}{await error}");
        }

        return elapsed;
    }

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
