using System.Diagnostics;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Hosting;

namespace ParallelFlow.Load;

/// <summary>What a load on a service gave: each submission's latency, the runs that succeeded, the listeners that got
/// every event of their run in order, and what went wrong.</summary>
public sealed record LoadResult(int Runs, int Succeeded, double[] SubmitMilliseconds, int Listeners, int ListenersWhole, IReadOnlyList<string> Problems, TimeSpan Elapsed)
{
    /// <summary>A percentile of the submit latency, in milliseconds (nearest rank).</summary>
    public double Percentile(double p)
    {
        var sorted = SubmitMilliseconds.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}

/// <summary>
/// A bounded, self-stopping load on a ParallelFlow service on this machine: <c>runs</c> runs of one registered plan
/// submitted by <c>clients</c> concurrent clients, while <c>listeners</c> clients follow a run each over Server-Sent
/// Events from the moment it is accepted. Each listener's events are then compared with the run's whole stream read
/// again after it ended: the same events, numbered 1, 2, 3, … in the same order. Used by the service's load test and
/// by <c>benchmarks --service-load</c>, which records the latencies.
/// </summary>
public static class ServiceLoad
{
    /// <summary>The plan every run of the load runs, registered as <c>fan</c>: three 20 ms tasks between two quick ones.</summary>
    public const string FanPlan = """
        { "id": "fan", "tasks": [
          { "id": "split", "worker": "template", "with": { "text": "go" } },
          { "id": "a", "worker": "simulate", "depends_on": ["split"], "with": { "seconds": 0.02 } },
          { "id": "b", "worker": "simulate", "depends_on": ["split"], "with": { "seconds": 0.02 } },
          { "id": "c", "worker": "simulate", "depends_on": ["split"], "with": { "seconds": 0.02 } },
          { "id": "join", "worker": "template", "depends_on": ["a", "b", "c"], "with": { "text": "{{a}}{{b}}{{c}}" } } ] }
        """;

    /// <param name="service">The service's address.</param>
    /// <param name="token">Its bearer token, if it needs one.</param>
    /// <param name="plan">The registered plan every run runs.</param>
    /// <param name="runs">How many runs to submit.</param>
    /// <param name="clients">How many clients submit them, concurrently.</param>
    /// <param name="listeners">How many clients follow a run each.</param>
    /// <param name="limit">When everything stops, done or not.</param>
    /// <param name="warmUp">Runs submitted and waited for first, not measured: the service's first requests pay for its JIT.</param>
    public static async Task<LoadResult> RunAsync(Uri service, string? token, string plan, int runs, int clients, int listeners, TimeSpan limit, int warmUp = 0)
    {
        using var stop = new CancellationTokenSource(limit);
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { BaseAddress = service, Timeout = Timeout.InfiniteTimeSpan };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        using var client = new ParallelFlowClient(http);
        var problems = new List<string>();
        var ids = new string?[runs];
        var latencies = new double[runs];
        var every = Math.Max(1, runs / Math.Max(1, listeners));
        var listening = new List<Task<(string RunId, List<ServiceEvent> Events)>>();
        for (var i = 0; i < warmUp; i++)
        {
            await client.WaitAsync((await client.SubmitAsync(plan, cancellationToken: stop.Token).ConfigureAwait(false)).RunId, stop.Token).ConfigureAwait(false);
        }

        var clock = Stopwatch.StartNew();

        async Task SubmitAsync(int first)
        {
            for (var k = first; k < runs; k += clients)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var run = await client.SubmitAsync(plan, cancellationToken: stop.Token).ConfigureAwait(false);
                    latencies[k] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    ids[k] = run.RunId;
                    if (k % every == 0 && k / every < listeners)
                    {
                        lock (listening)
                        {
                            listening.Add(FollowAsync(client, run.RunId, stop.Token));
                        }
                    }
                }
                catch (Exception ex) when (ex is ParallelFlowServiceException or HttpRequestException or OperationCanceledException)
                {
                    Add(problems, $"submission {k}: {ex.Message}");
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(() => SubmitAsync(c)))).ConfigureAwait(false);
        var followed = new List<(string RunId, List<ServiceEvent> Events)>();
        foreach (var listener in listening)
        {
            try
            {
                followed.Add(await listener.ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
            {
                Add(problems, $"a listener: {ex.Message}");
            }
        }

        // Every run to its end, then each listener's events against the run's whole stream.
        var succeeded = 0;
        foreach (var id in ids.OfType<string>())
        {
            try
            {
                var report = await client.WaitAsync(id, stop.Token).ConfigureAwait(false);
                if (report.GetProperty("status").GetString() == "succeeded")
                {
                    succeeded++;
                }
                else
                {
                    Add(problems, $"run {id} ended {report.GetProperty("status").GetString()}");
                }
            }
            catch (Exception ex) when (ex is ParallelFlowServiceException or HttpRequestException or OperationCanceledException)
            {
                Add(problems, $"run {id}: {ex.Message}");
            }
        }

        var elapsed = clock.Elapsed;
        var whole = 0;
        foreach (var (runId, events) in followed)
        {
            var all = new List<ServiceEvent>();
            await foreach (var e in client.WatchAsync(runId, 0, stop.Token).ConfigureAwait(false))
            {
                all.Add(e);
            }

            var inOrder = events.Select((e, i) => e.Id == i + 1).All(x => x);
            var same = events.Count == all.Count && events.Zip(all).All(p => p.First.Id == p.Second.Id && p.First.Event == p.Second.Event);
            if (inOrder && same && all.Count > 0 && all[^1].Event.Kind == RunEventKind.RunFinished)
            {
                whole++;
            }
            else
            {
                Add(problems, $"the listener of run {runId} got {events.Count} of its {all.Count} events{(inOrder ? string.Empty : ", out of order")}");
            }
        }

        return new LoadResult(runs, succeeded, latencies, followed.Count, whole, problems, elapsed);
    }

    private static async Task<(string RunId, List<ServiceEvent> Events)> FollowAsync(ParallelFlowClient client, string runId, CancellationToken cancellationToken)
    {
        var events = new List<ServiceEvent>();
        await foreach (var e in client.WatchAsync(runId, 0, cancellationToken).ConfigureAwait(false))
        {
            events.Add(e);
        }

        return (runId, events);
    }

    private static void Add(List<string> problems, string problem)
    {
        lock (problems)
        {
            problems.Add(problem);
        }
    }
}
