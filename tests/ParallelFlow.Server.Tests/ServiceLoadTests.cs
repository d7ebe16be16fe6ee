using ParallelFlow.Load;
using Xunit.Abstractions;

namespace ParallelFlow.Server.Tests;

/// <summary>The service under load on 127.0.0.1, bounded and self-stopping: 200 runs submitted by 20 concurrent clients
/// while 50 clients follow a run each over Server-Sent Events. Every run completes, and every listener gets every event
/// of its run, in order. (The latencies are recorded by <c>benchmarks --service-load</c>, against a service process.)</summary>
public sealed class ServiceLoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Two_hundred_runs_from_twenty_clients_complete_while_fifty_listeners_get_every_event_in_order()
    {
        var plans = Directory.CreateTempSubdirectory("parallelflow-load-").FullName;
        File.WriteAllText(Path.Combine(plans, "fan.json"), ServiceLoad.FanPlan);
        var port = FreePorts.Next();
        await using var app = ParallelFlowServer.Build(new ServeSettings { Urls = $"http://127.0.0.1:{port}", PlansFolder = plans, Workers = 16, SubmittedFolder = Path.Combine(plans, "sent") });
        await app.StartAsync();
        try
        {
            var result = await ServiceLoad.RunAsync(new Uri($"http://127.0.0.1:{port}"), null, "fan", runs: 200, clients: 20, listeners: 50, limit: TimeSpan.FromMinutes(3));

            output.WriteLine($"{result.Runs} runs in {result.Elapsed.TotalSeconds:0.0} s; submit p50 {result.Percentile(50):0.0} ms, p99 {result.Percentile(99):0.0} ms");
            Assert.True(result.Problems.Count == 0, string.Join("\n", result.Problems.Take(20)));
            Assert.Equal(200, result.Succeeded);
            Assert.Equal((50, 50), (result.Listeners, result.ListenersWhole));
        }
        finally
        {
            await app.StopAsync();
            Directory.Delete(plans, recursive: true);
        }
    }
}
