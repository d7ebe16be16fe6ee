using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ParallelFlow.Cli.Tests;

/// <summary><c>parallelflow serve</c> as an operator starts it: a process on 127.0.0.1 and a free port, a run submitted
/// over HTTP and journaled, stopped with SIGTERM by its PID.</summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("parallelflow-serve-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task The_service_runs_a_registered_plan_journals_it_and_stops_on_sigterm()
    {
        var plans = Directory.CreateDirectory(Path.Combine(_folder, "plans")).FullName;
        File.WriteAllText(Path.Combine(plans, "hello.json"), """{ "id": "hello", "tasks": [ { "id": "greet", "worker": "template", "with": { "text": "hello" } } ] }""");
        var journal = Path.Combine(_folder, "journal.db");
        var port = FreePorts.Next();
        using var serve = CliProcess.Start(["serve", "--urls", $"http://127.0.0.1:{port}", "--plans", plans, "--journal", journal], waitForLine: "serving on");
        Assert.Contains("plans: hello", await serve.LineAsync(), StringComparison.Ordinal);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        var submitted = await client.PostAsJsonAsync("/runs", new { plan = "hello" });
        var runId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("run_id").GetString()!;
        var events = await client.GetStringAsync($"/runs/{runId}/events");
        serve.SendTerminate();
        var exitCode = await serve.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Assert.Contains("event: end", events, StringComparison.Ordinal);
        Assert.Equal(0, exitCode);
        var runs = await CliProcess.RunAsync("runs", "--journal", journal, "--json");
        using var listed = JsonDocument.Parse(runs.Out);
        Assert.Equal("succeeded", listed.RootElement.EnumerateArray().Single(r => r.GetProperty("run_id").GetString() == runId).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_plans_folder_that_is_not_there_is_a_one_line_error()
    {
        var result = await CliProcess.RunAsync("serve", "--urls", $"http://127.0.0.1:{FreePorts.Next()}", "--plans", Path.Combine(_folder, "nope"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error: --plans:", result.Error, StringComparison.Ordinal);
        Assert.Contains("is not a folder", result.Error, StringComparison.Ordinal);
    }

}
