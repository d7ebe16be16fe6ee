using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace ParallelFlow.Cli.Tests;

/// <summary>
/// The engine's MCP tools, driven by the ModelContextProtocol package's own client over both transports: stdio to a
/// real <c>parallelflow mcp</c> process, and streamable HTTP to <c>/mcp</c> of a real <c>parallelflow serve</c> process
/// on 127.0.0.1 with a token — every tool, progress notifications, the allow-list, a run cancelled by the tool and one
/// cancelled by cancelling the call.
/// </summary>
public sealed class McpToolTests : IDisposable
{
    private const string Token = "mcp-test-token";
    private readonly string _plans = Directory.CreateTempSubdirectory("parallelflow-mcp-").FullName;
    private readonly List<CliProcess> _services = [];
    private readonly List<string> _stderr = [];

    public McpToolTests()
    {
        File.WriteAllText(Path.Combine(_plans, "demo.json"), """
            { "id": "demo", "inputs": { "n": { "type": "number", "default": 1 } }, "tasks": [
              { "id": "a", "worker": "simulate", "with": { "seconds": 0.05 } },
              { "id": "b", "worker": "template", "depends_on": ["a"], "with": { "text": "n={{inputs.n}}" } } ] }
            """);
        File.WriteAllText(Path.Combine(_plans, "long.json"), """
            { "id": "long", "tasks": [
              { "id": "quick", "worker": "template", "with": { "text": "kept" } },
              { "id": "wait", "worker": "simulate", "depends_on": ["quick"], "with": { "seconds": 120 } } ] }
            """);
    }

    public void Dispose()
    {
        foreach (var service in _services)
        {
            service.Dispose();
        }

        Directory.Delete(_plans, recursive: true);
    }

    [Theory]
    [InlineData("stdio")]
    [InlineData("http")]
    public async Task Every_tool_answers_through_the_transport(string transport)
    {
        await using var client = await ConnectAsync(transport);

        var tools = await client.ListToolsAsync();
        Assert.Equal(["cancel_run", "get_run", "get_task", "list_plans", "list_runs", "run_plan", "run_request"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));

        var plans = Json(await client.CallToolAsync("list_plans"));
        Assert.Equal(["demo", "long"], plans.EnumerateArray().Select(p => p.GetProperty("id").GetString()).Order(StringComparer.Ordinal));
        Assert.Equal("number", plans.EnumerateArray().First(p => p.GetProperty("id").GetString() == "demo").GetProperty("inputs").GetProperty("n").GetProperty("type").GetString());

        // A registered plan, waited for, with progress as its tasks finish. The notes are read by a handler of the
        // session, not only of the call: a client may hand a note over after the call's answer, once the call's own
        // handler is gone (over HTTP on a loaded machine, every note of a short run could be).
        var progress = new Notes();
        await using var listening = client.RegisterNotificationHandler(NotificationMethods.ProgressNotification, (notification, _) =>
        {
            if (JsonSerializer.Deserialize<ProgressNotificationParams>(notification.Params, McpJsonUtilities.DefaultOptions) is { } note)
            {
                progress.Report(note.Progress);
            }

            return ValueTask.CompletedTask;
        });
        var run = Json(await client.CallToolAsync("run_plan", Arguments(("plan", "demo"), ("inputs", new { n = 3 })), new Progress<ProgressNotificationValue>(static _ => { })));
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal("n=3", Result(run, "b").GetProperty("output").GetString());
        // The server sends each note before its answer; the client may hand the last to the handler a moment after it.
        for (var wait = 0; wait < 200 && !progress.Taken.Any(n => n.Progress == 2); wait++)
        {
            await Task.Delay(50);
        }

        var notes = progress.Taken;
        Assert.True(notes.Count > 0 && notes.All(n => n.Total == 2 && n.Progress is >= 1 and <= 2), $"{transport}: the progress notes were {string.Join("; ", notes.Select(n => $"{n.Progress}/{n.Total} {n.Message}"))}");
        // The server sends each note only once the one before has gone out, but the client hands each message it reads
        // to its handler on a task of its own, over either transport: two notes close together may reach the handler
        // in either order (over stdio too, rarely: CI saw 2 before 1 once). Each value comes once.
        Assert.Equal(notes.Select(n => n.Progress).Distinct().Order(), notes.Select(n => n.Progress).Order());
        Assert.Contains(notes, n => n.Message!.Contains(" succeeded (", StringComparison.Ordinal));

        var task = Json(await client.CallToolAsync("get_task", Arguments(("run_id", run.GetProperty("run_id").GetString()), ("task_id", "b"))));
        Assert.Equal(("succeeded", "n=3"), (task.GetProperty("status").GetString(), task.GetProperty("output").GetString()));

        // A sectioning request in the executors' format: the sections run, are merged, and the decision says so.
        var sections = Json(await client.CallToolAsync("run_request", Arguments(("request", new
        {
            task_id = "greetings",
            mode = "sectioning",
            main_task = new { description = "Say hello to each part", components = new[] { "api", "ui", "docs" } },
            worker = "template",
            with = new { text = "hello {{section_name}}" },
        }))));
        Assert.Equal("succeeded", sections.GetProperty("status").GetString());
        var decision = sections.GetProperty("results")[0].GetProperty("decision");
        Assert.Equal(("section", 3), (decision.GetProperty("kind").GetString(), decision.GetProperty("succeeded").GetInt32()));

        // The allow-list of plans sent by clients holds here too: no shell through the process worker.
        var shell = await client.CallToolAsync("run_plan", Arguments(("plan", new { id = "shell", tasks = new[] { new { id = "t", worker = "process", with = new { command = "sh", args = new[] { "-c", "id" } } } } })));
        Assert.True(shell.IsError is true);
        Assert.Contains("may not use worker 'process'", Text(shell), StringComparison.Ordinal);
        var notVoting = await client.CallToolAsync("run_request", Arguments(("request", new { mode = "vote" })));
        Assert.True(notVoting.IsError is true);
        Assert.Contains("mode must be 'sectioning' or 'voting', not 'vote'", Text(notVoting), StringComparison.Ordinal);

        // A run started without waiting, followed, and cancelled by the tool; what succeeded before is kept.
        var started = Json(await client.CallToolAsync("run_plan", Arguments(("plan", "long"), ("wait", false))));
        var longId = started.GetProperty("run_id").GetString()!;
        Assert.Equal("running", Json(await client.CallToolAsync("get_run", Arguments(("run_id", longId)))).GetProperty("status").GetString());
        var cancelled = Json(await client.CallToolAsync("cancel_run", Arguments(("run_id", longId))));
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        Assert.Equal("cancelled", Json(await client.CallToolAsync("get_run", Arguments(("run_id", longId)))).GetProperty("status").GetString());
        Assert.Equal("kept", Json(await client.CallToolAsync("get_task", Arguments(("run_id", longId), ("task_id", "quick")))).GetProperty("output").GetString());
        var again = await client.CallToolAsync("cancel_run", Arguments(("run_id", longId)));
        Assert.True(again.IsError is true);
        Assert.Contains("has ended already", Text(again), StringComparison.Ordinal);

        // A call the agent gives up on: its run is cancelled.
        using var giveUp = new CancellationTokenSource();
        var waiting = client.CallToolAsync("run_plan", Arguments(("plan", "long")), cancellationToken: giveUp.Token).AsTask();
        var running = await EventuallyAsync(async () =>
            Json(await client.CallToolAsync("list_runs")).EnumerateArray().FirstOrDefault(r => r.GetProperty("plan").GetString() == "long" && r.GetProperty("status").GetString() == "running"));
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        var gaveUpId = running.GetProperty("run_id").GetString();
        await EventuallyAsync(async () =>
        {
            var status = Json(await client.CallToolAsync("get_run", Arguments(("run_id", gaveUpId)))).GetProperty("status").GetString();
            return status == "cancelled" ? status : null;
        });

        var runs = Json(await client.CallToolAsync("list_runs"));
        Assert.Equal(4, runs.GetArrayLength());

        // What an agent gets wrong is an answer it reads, and no stack trace in the server's log.
        var unknown = await client.CallToolAsync("get_run", Arguments(("run_id", "no-such-run")));
        Assert.True(unknown.IsError is true);
        Assert.Equal("no run 'no-such-run'", Text(unknown));
        if (transport == "stdio")
        {
            Assert.DoesNotContain(_stderr, line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Over_http_the_tools_need_the_services_token()
    {
        var address = await StartServiceAsync();
        await using var transport = new HttpClientTransport(new HttpClientTransportOptions { Endpoint = new Uri(address + "/mcp") });
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => McpClient.CreateAsync(transport));
        Assert.Contains("401", refused.ToString(), StringComparison.Ordinal);
    }

    private async Task<McpClient> ConnectAsync(string transport)
    {
        if (transport == "stdio")
        {
            return await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
            {
                Name = "parallelflow",
                Command = "dotnet",
                Arguments = [Path.Combine(AppContext.BaseDirectory, "parallelflow.dll"), "mcp", "--plans", _plans, "--journal", Path.Combine(_plans, "journal.db")],
                WorkingDirectory = CliProcess.RepositoryRoot,
                ShutdownTimeout = TimeSpan.FromSeconds(10),
                StandardErrorLines = line =>
                {
                    lock (_stderr)
                    {
                        _stderr.Add(line);
                    }
                },
            }));
        }

        var address = await StartServiceAsync();
        return await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(address + "/mcp"),
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {Token}" },
        }));
    }

    /// <summary>Starts <c>parallelflow serve</c> with the token on 127.0.0.1 and a free port; it is stopped by PID on dispose.</summary>
    private async Task<string> StartServiceAsync()
    {
        var port = FreePorts.Next();
        var service = CliProcess.Start(
            ["serve", "--urls", $"http://127.0.0.1:{port}", "--plans", _plans, "--journal", Path.Combine(_plans, "served.db")],
            waitForLine: "serving on",
            environment: new Dictionary<string, string> { ["PARALLELFLOW_TOKEN"] = Token });
        _services.Add(service);
        await service.LineAsync();
        return $"http://127.0.0.1:{port}";
    }

    private static Dictionary<string, object?> Arguments(params (string Name, object? Value)[] values) => values.ToDictionary(v => v.Name, v => v.Value);

    private static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(c => c.Text));

    private static JsonElement Json(CallToolResult result)
    {
        Assert.True(result.IsError is not true, Text(result));
        return JsonDocument.Parse(Text(result)).RootElement.Clone();
    }

    private static JsonElement Result(JsonElement report, string task) =>
        report.GetProperty("results").EnumerateArray().First(r => r.GetProperty("id").GetString() == task);

    private static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe)
    {
        for (var i = 0; i < 300; i++)
        {
            if (await probe() is { } found && !found.Equals(default(T)))
            {
                return found;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the condition did not hold within 30 s");
    }

    /// <summary>Progress notifications, kept in the order they come (not posted elsewhere, as Progress&lt;T&gt; would).</summary>
    private sealed class Notes : IProgress<ProgressNotificationValue>
    {
        private readonly List<ProgressNotificationValue> _notes = [];

        public List<ProgressNotificationValue> Taken
        {
            get
            {
                lock (_notes)
                {
                    return [.. _notes];
                }
            }
        }

        public void Report(ProgressNotificationValue value)
        {
            lock (_notes)
            {
                _notes.Add(value);
            }
        }
    }
}
