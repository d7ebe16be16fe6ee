using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ParallelFlow.Load;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// <c>--service-load</c>: the submit latency of a real <c>parallelflow serve</c> process (the Release build) on 127.0.0.1
/// and a free port, under 200 runs from 20 concurrent clients while 50 clients follow a run each over Server-Sent
/// Events; a table of percentiles per round. Not BenchmarkDotNet: this is a latency distribution under concurrency,
/// not a loop. The process is stopped by its PID.
/// </summary>
internal static class ServiceLoadCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = args.SkipWhile(a => a != "--rounds").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(3);
        var root = Repository.Root;

        var cli = Path.Combine(root, "engine/ParallelFlow.Cli/bin/Release/net10.0/parallelflow.dll");
        if (!File.Exists(cli))
        {
            Console.Error.WriteLine($"build the service first: dotnet build {Path.Combine(root, "engine/ParallelFlow.Cli")} -c Release");
            return 2;
        }

        var plans = Directory.CreateTempSubdirectory("parallelflow-load-").FullName;
        File.WriteAllText(Path.Combine(plans, "fan.json"), ServiceLoad.FanPlan);
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = plans };
        foreach (var arg in new[] { cli, "serve", "--urls", $"http://127.0.0.1:{port}", "--plans", plans, "--workers", "16", "--journal", Path.Combine(plans, "journal.db") })
        {
            start.ArgumentList.Add(arg);
        }

        using var service = Process.Start(start)!;
        // Its log is read as it comes, so that a full pipe never stops the service.
        service.ErrorDataReceived += (_, _) => { };
        service.BeginErrorReadLine();
        try
        {
            var ready = await service.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            if (ready?.StartsWith("serving on", StringComparison.Ordinal) != true)
            {
                Console.Error.WriteLine($"the service did not start: {ready} {await service.StandardError.ReadToEndAsync()}");
                return 1;
            }

            Console.WriteLine($"service pid {service.Id}; {Environment.ProcessorCount} cores; load {File.ReadAllText("/proc/loadavg").Trim()}");
            Console.WriteLine("| round | runs | clients | listeners | wall (s) | submit p50 (ms) | p90 | p99 | max | runs ok | listeners whole |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
            for (var round = 1; round <= rounds; round++)
            {
                var r = await ServiceLoad.RunAsync(new Uri($"http://127.0.0.1:{port}"), null, "fan", 200, 20, 50, TimeSpan.FromMinutes(5), warmUp: round == 1 ? 20 : 0);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {round} | {r.Runs} | 20 | {r.Listeners} | {r.Elapsed.TotalSeconds:0.00} | {r.Percentile(50):0.0} | {r.Percentile(90):0.0} | {r.Percentile(99):0.0} | {r.SubmitMilliseconds.Max():0.0} | {r.Succeeded} | {r.ListenersWhole} |"));
                foreach (var problem in r.Problems.Take(5))
                {
                    Console.WriteLine($"  problem: {problem}");
                }
            }

            return 0;
        }
        finally
        {
            service.Kill();
            await service.WaitForExitAsync();
            Directory.Delete(plans, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
