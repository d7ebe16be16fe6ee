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
    public async Task A_run_of_a_service_that_was_killed_is_interrupted_and_resumes_through_the_api()
    {
        var plans = Directory.CreateDirectory(Path.Combine(_folder, "plans")).FullName;
        var log = Path.Combine(_folder, "executions.log");
        var marker = Path.Combine(_folder, "b-ran-once");
        void WritePlan(string first) => File.WriteAllText(Path.Combine(plans, "two.json"), JsonSerializer.Serialize(new
        {
            id = "two",
            tasks = new object[]
            {
                new { id = "a", worker = "process", with = new { command = "sh", args = new[] { "-c", $"echo a >> '{log}'; echo {first}" } } },
                new { id = "b", worker = "process", depends_on = new[] { "a" }, with = new { command = "sh", args = new[] { "-c", $"echo b >> '{log}'; if [ -f '{marker}' ]; then echo second; else touch '{marker}'; sleep 120; fi" } } },
            },
        }));
        WritePlan("first");
        var journal = Path.Combine(_folder, "journal.db");
        var port = FreePorts.Next();
        string[] args = ["serve", "--urls", $"http://127.0.0.1:{port}", "--plans", plans, "--journal", journal];
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        string runId;
        using (var first = CliProcess.Start(args, waitForLine: "serving on"))
        {
            await first.LineAsync();
            var submitted = await client.PostAsJsonAsync("/runs", new { plan = "two" });
            runId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("run_id").GetString()!;
            // b runs (a is recorded before it starts: the journal's order), then the service dies at once, b with it.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!File.Exists(marker) || !await Succeeded(client, $"/runs/{runId}/tasks/a"))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "b did not start within 60 s");
                await Task.Delay(100);
            }

            first.KillHard();
            await first.WaitForExitAsync();
        }

        using var second = CliProcess.Start(args, waitForLine: "serving on");
        await second.LineAsync();
        var listed = await client.GetFromJsonAsync<JsonElement>("/runs");
        var resumed = await client.PostAsync($"/runs/{runId}/resume", null);
        var events = await client.GetStringAsync($"/runs/{runId}/events");
        var b = await client.GetFromJsonAsync<JsonElement>($"/runs/{runId}/tasks/b");
        var resumedLog = File.ReadAllLines(log);

        // The run succeeded; after an edit to its first task, resuming it again runs that task and the one after it.
        WritePlan("edited");
        var afterEdit = await client.PostAsync($"/runs/{runId}/resume", null);
        var afterEditBody = await afterEdit.Content.ReadFromJsonAsync<JsonElement>();
        await client.GetStringAsync($"/runs/{runId}/events");
        var editedA = await client.GetFromJsonAsync<JsonElement>($"/runs/{runId}/tasks/a");
        var openApi = await client.GetStringAsync("/openapi/v1.json");
        second.SendTerminate();
        await second.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("interrupted", listed.GetProperty("runs").EnumerateArray().Single(r => r.GetProperty("run_id").GetString() == runId).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Accepted, resumed.StatusCode);
        Assert.Equal(1, (await resumed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("restored").GetInt32());
        Assert.Contains("event: end", events, StringComparison.Ordinal);
        Assert.Equal(("succeeded", "second"), (b.GetProperty("status").GetString(), b.GetProperty("output").GetString()!.Trim()));
        Assert.Equal(["a", "b", "b"], resumedLog);
        Assert.True(afterEdit.StatusCode == HttpStatusCode.Accepted, afterEditBody.ToString());
        Assert.Equal(0, afterEditBody.GetProperty("restored").GetInt32());
        Assert.Equal(["a", "b"], afterEditBody.GetProperty("rerun").EnumerateArray().Select(t => t.GetProperty("task_id").GetString()));
        Assert.StartsWith("with.args: ", afterEditBody.GetProperty("rerun")[0].GetProperty("reasons")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal("it depends on 'a', which runs again", afterEditBody.GetProperty("rerun")[1].GetProperty("reasons")[0].GetString());
        Assert.Equal("edited", editedA.GetProperty("output").GetString()!.Trim());
        Assert.Equal(["a", "b", "b", "a", "b"], File.ReadAllLines(log));
        Assert.Contains("/runs/{id}/resume", openApi, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_follows_a_run_on_the_service_and_exits_as_a_local_run_would()
    {
        var plans = Directory.CreateDirectory(Path.Combine(_folder, "plans")).FullName;
        File.WriteAllText(Path.Combine(plans, "greet.json"), """
            { "id": "greet", "inputs": { "who": { "type": "string" }, "times": { "type": "number", "default": 1 } },
              "tasks": [ { "id": "hello", "worker": "template", "with": { "text": "hello {{inputs.who}} x{{inputs.times}}" } } ] }
            """);
        var failing = Path.Combine(_folder, "failing.json");
        File.WriteAllText(failing, """{ "id": "failing", "tasks": [ { "id": "boom", "worker": "simulate", "with": { "seconds": 0, "fail": "fatal" } } ] }""");
        var yaml = Path.Combine(_folder, "sent.yaml");
        File.WriteAllText(yaml, "id: sent\ninputs:\n  n: { type: number }\ntasks:\n  - { id: twice, worker: template, with: { text: \"n={{inputs.n}}\" } }\n");
        var port = FreePorts.Next();
        var server = $"http://127.0.0.1:{port}";
        using var serve = CliProcess.Start(["serve", "--urls", server, "--plans", plans], waitForLine: "serving on");
        await serve.LineAsync();

        var ok = await CliProcess.RunAsync("submit", "greet", "--server", server, "--input", "who=42", "--input", "times=3", "--wait");
        var defaulted = await CliProcess.RunAsync("submit", "greet", "--server", server, "--input", "who=you", "--wait");
        var failed = await CliProcess.RunAsync("submit", failing, "--server", server, "--wait");
        var fromYaml = await CliProcess.RunAsync("submit", yaml, "--server", server, "--input", "n=4", "--wait");
        var unknown = await CliProcess.RunAsync("submit", "greett", "--server", server);
        var badInput = await CliProcess.RunAsync("submit", "greet", "--server", server, "--input", "times=many");
        serve.SendTerminate();
        await serve.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(ok.ExitCode == 0, ok.Out + ok.Error);
        Assert.Contains("finished  hello succeeded", ok.Out, StringComparison.Ordinal);
        Assert.Contains(ok.Out.Split('\n'), line => line.StartsWith("Run ", StringComparison.Ordinal) && line.Contains(" succeeded in ", StringComparison.Ordinal));
        Assert.Contains("/#/runs/", ok.Out, StringComparison.Ordinal);
        Assert.True(defaulted.ExitCode == 0, defaulted.Out + defaulted.Error);
        Assert.Equal(1, failed.ExitCode);
        Assert.Contains("boom failed", failed.Out, StringComparison.Ordinal);
        Assert.True(fromYaml.ExitCode == 0, fromYaml.Out + fromYaml.Error);
        Assert.Contains("finished  twice succeeded", fromYaml.Out, StringComparison.Ordinal);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("greett is neither a plan file here nor a plan of", unknown.Error, StringComparison.Ordinal);
        Assert.Contains("(did you mean 'greet'?)", unknown.Error, StringComparison.Ordinal);
        Assert.Equal(2, badInput.ExitCode);
        Assert.Contains("times", badInput.Error, StringComparison.Ordinal);
    }

    private static async Task<bool> Succeeded(HttpClient client, string task)
    {
        using var response = await client.GetAsync(task);
        return response.StatusCode == HttpStatusCode.OK
            && (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString() == "succeeded";
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
