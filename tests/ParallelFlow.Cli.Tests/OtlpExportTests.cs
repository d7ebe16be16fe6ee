using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ParallelFlow.Cli.Tests;

/// <summary>The command exports a run's spans and metrics over real OTLP/HTTP (protobuf) to a receiver this test starts
/// on 127.0.0.1: with <c>--otlp URL</c>, and with the standard OTEL_EXPORTER_OTLP_* variables.</summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task Otlp_option_sends_the_runs_spans_and_metrics_to_the_collector()
    {
        using var receiver = new OtlpReceiver();

        var (exitCode, output, error) = await CliProcess.RunAsync("run", "examples/release-check.json", "--no-journal", "--quiet", "--otlp", receiver.Url);

        Assert.True(exitCode == 0, output + error);
        receiver.AssertReceivedRunOf("release-check", "release-notes");
    }

    [Fact]
    public async Task The_standard_environment_variables_turn_export_on()
    {
        using var receiver = new OtlpReceiver();
        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "release-pipeline",
        };

        var (exitCode, output, error) = await CliProcess.RunAsync(environment, "run", "examples/release-check.json", "--no-journal", "--quiet");

        Assert.True(exitCode == 0, output + error);
        receiver.AssertReceivedRunOf("release-check", "package");
        Assert.Contains("release-pipeline", receiver.Body("/v1/traces"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_collector_that_cannot_be_reached_is_one_warning_and_the_run_is_unaffected()
    {
        // A port nothing listens on: found free, then closed again.
        string url;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            url = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
        }

        var (exitCode, output, error) = await CliProcess.RunAsync("run", "examples/release-check.json", "--no-journal", "--quiet", "--otlp", url);

        Assert.True(exitCode == 0, output + error);
        var warnings = error.Split('\n').Where(l => l.StartsWith("warning: OTLP export failed", StringComparison.Ordinal)).ToList();
        Assert.Single(warnings);
        Assert.Contains(url, warnings[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_otlp_value_that_is_not_a_url_is_a_usage_error_and_nothing_runs()
    {
        var (exitCode, output, error) = await InProcessCli.RunAsync("run", Path.Combine(CliProcess.RepositoryRoot, "examples", "release-check.json"), "--no-journal", "--otlp", "localhost:4318");

        Assert.Equal(2, exitCode);
        Assert.Contains("--otlp: 'localhost:4318' is not an http(s) URL", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Run ", output, StringComparison.Ordinal);
    }

    /// <summary>An OTLP/HTTP endpoint on a free port of 127.0.0.1 that keeps what is posted to it, by path.</summary>
    private sealed class OtlpReceiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly ConcurrentDictionary<string, ConcurrentQueue<(string ContentType, byte[] Body)>> _received = new();
        private readonly Task _serving;

        public OtlpReceiver()
        {
            // HttpListener cannot take port 0: a free port is found, and another tried if it was taken meanwhile.
            for (var attempt = 1; ; attempt++)
            {
                using (var probe = new TcpListener(IPAddress.Loopback, 0))
                {
                    probe.Start();
                    Url = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
                }

                try
                {
                    _listener.Prefixes.Clear();
                    _listener.Prefixes.Add(Url + "/");
                    _listener.Start();
                    break;
                }
                catch (HttpListenerException) when (attempt < 5)
                {
                }
            }

            _serving = Task.Run(ServeAsync);
        }

        public string Url { get; private set; } = string.Empty;

        public string Body(string path) =>
            _received.TryGetValue(path, out var posts) ? string.Join('\n', posts.Select(p => Encoding.UTF8.GetString(p.Body))) : string.Empty;

        public void AssertReceivedRunOf(string planId, string taskId)
        {
            Assert.True(_received.TryGetValue("/v1/traces", out var traces), $"no spans were posted; got {string.Join(", ", _received.Keys)}");
            Assert.All(traces, post => Assert.Equal("application/x-protobuf", post.ContentType));
            var spans = Body("/v1/traces");
            // Protobuf keeps strings as UTF-8: the span names and attribute values are there as they were set.
            foreach (var expected in new[] { "parallelflow.run", "parallelflow.task.status", "parallelflow.plan.id", planId, taskId, "service.name", "parallelflow.attempt" })
            {
                Assert.Contains(expected, spans, StringComparison.Ordinal);
            }

            Assert.Contains("parallelflow.tasks.finished", Body("/v1/metrics"), StringComparison.Ordinal);
            Assert.Contains("parallelflow.task.duration", Body("/v1/metrics"), StringComparison.Ordinal);
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                _received.GetOrAdd(context.Request.Url!.AbsolutePath, _ => new()).Enqueue((context.Request.ContentType ?? string.Empty, body.ToArray()));
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _serving.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
