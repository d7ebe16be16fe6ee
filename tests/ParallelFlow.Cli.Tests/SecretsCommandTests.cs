using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ParallelFlow.Cli.Tests;

/// <summary>A key from an <c>api_key_env</c> variable never shows, whatever path it takes: here a model server on
/// 127.0.0.1 that echoes the Authorization header in its 400 body, and a program that prints its environment.</summary>
public sealed class SecretsCommandTests
{
    private const string Secret = "sk-live-7f3a9c1e5b2d4086-never-print-me";

    [Fact]
    public async Task A_key_echoed_by_a_server_or_printed_by_a_program_is_masked_everywhere()
    {
        using var server = new EchoingModelServer();
        using var folderScratch = new TempFolder("parallelflow-secret-");
        var folder = folderScratch.Path;
        var plugins = Path.Combine(folder, "plugins.json");
        File.WriteAllText(plugins, $$"""
            { "plugins": [
              { "name": "process", "path": "{{Artifact("ParallelFlow.Plugins.Process")}}" },
              { "name": "voting", "path": "{{Artifact("ParallelFlow.Plugins.Voting")}}" },
              { "name": "semantic-kernel", "path": "{{Artifact("ParallelFlow.Plugins.SemanticKernel")}}",
                "settings": { "models": { "echo": { "provider": "openai-compatible", "endpoint": "{{server.Endpoint}}", "model": "m", "api_key_env": "PF_SECRET_KEY" } } } } ] }
            """);
        var plan = Path.Combine(folder, "plan.json");
        File.WriteAllText(plan, """
            { "tasks": [
              { "id": "ask", "worker": "llm", "with": { "model": "echo", "prompt": "hello" } },
              { "id": "vote", "worker": "vote", "with": { "scorer": "consensus", "quorum": 1, "candidates": [
                  { "name": "echo", "worker": "llm", "with": { "model": "echo", "prompt": "hello" } },
                  { "name": "env", "worker": "process", "with": { "command": "sh", "args": ["-c", "echo key is $PF_SECRET_KEY"] } } ] } },
              { "id": "print", "worker": "process", "with": { "command": "sh", "args": ["-c", "echo key is $PF_SECRET_KEY; echo again $PF_SECRET_KEY >&2; exit 3"] } } ] }
            """);
        var report = Path.Combine(folder, "report.json");
        var journal = Path.Combine(folder, "journal.db");

        var (exitCode, output, error) = await CliProcess.RunAsync(
            new Dictionary<string, string> { ["PF_SECRET_KEY"] = Secret },
            "run", plan, "--plugins", plugins, "--report", report, "--journal", journal);
        var (_, shown, _) = await CliProcess.RunAsync("show", Latest(journal), "--journal", journal);

        // The server did see the key (so it was really sent), and the run saw the echo (so the path was taken).
        Assert.True(server.SawKey, "the model server never received the key");
        Assert.Equal(1, exitCode);
        Assert.Contains("key is ***", output, StringComparison.Ordinal);
        Assert.Contains("***", File.ReadAllText(report), StringComparison.Ordinal);
        var everything = output + error + shown + File.ReadAllText(report) + JournalBytes(journal);
        Assert.DoesNotContain(Secret, everything, StringComparison.Ordinal);
    }

    private static string Artifact(string project) => Path.Combine(CliProcess.RepositoryRoot, $"artifacts/plugins/{project}/{project}.dll");

    private static string Latest(string journal)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={journal};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1;";
        return (string)command.ExecuteScalar()!;
    }

    /// <summary>The journal's files as text: the database and its write-ahead log, where a write could hide.</summary>
    private static string JournalBytes(string journal) =>
        string.Concat(new[] { journal, journal + "-wal" }.Where(File.Exists).Select(f => Encoding.UTF8.GetString(File.ReadAllBytes(f))));

    /// <summary>An OpenAI-compatible endpoint on 127.0.0.1 and a free port that answers every request with 400 and the
    /// request's Authorization header in the body, as some servers do in their errors.</summary>
    private sealed class EchoingModelServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _serving;

        public EchoingModelServer()
        {
            var port = FreePort();
            Endpoint = $"http://127.0.0.1:{port}/v1";
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            _serving = Task.Run(ServeAsync);
        }

        public string Endpoint { get; }

        public bool SawKey { get; private set; }

        public void Dispose()
        {
            _listener.Close();
            _serving.Wait(TimeSpan.FromSeconds(5));
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
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                var authorization = context.Request.Headers["Authorization"] ?? "(none)";
                SawKey |= authorization.Contains(Secret, StringComparison.Ordinal);
                var body = Encoding.UTF8.GetBytes($$"""{ "error": { "message": "invalid credentials: {{authorization}}", "type": "invalid_request_error" } }""");
                context.Response.StatusCode = 400;
                context.Response.ContentType = "application/json";
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        }

        private static int FreePort()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            return ((IPEndPoint)probe.LocalEndpoint).Port;
        }
    }
}
