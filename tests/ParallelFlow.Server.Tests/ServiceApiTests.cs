using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using ParallelFlow.Hosting;

namespace ParallelFlow.Server.Tests;

/// <summary>The service over real HTTP on 127.0.0.1 and a free port: runs of registered plans, their events as
/// Server-Sent Events with Last-Event-ID resumption, cancel, problem details for what a client gets wrong, the token.</summary>
public sealed class ServiceApiTests : IAsyncLifetime
{
    private readonly string _plans = Directory.CreateTempSubdirectory("parallelflow-serve-").FullName;
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        File.WriteAllText(Path.Combine(_plans, "demo.json"), """
            { "id": "demo", "inputs": { "n": { "type": "number", "default": 1 } }, "tasks": [
              { "id": "a", "worker": "simulate", "with": { "seconds": 0.05 } },
              { "id": "b", "worker": "template", "depends_on": ["a"], "with": { "text": "n={{inputs.n}}" } } ] }
            """);
        File.WriteAllText(Path.Combine(_plans, "long.json"), """{ "id": "long", "tasks": [ { "id": "wait", "worker": "simulate", "with": { "seconds": 60 } } ] }""");
        (_app, _client) = await StartAsync(new ServeSettings { PlansFolder = _plans, SubmittedFolder = Path.Combine(_plans, "sent") });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_plans, recursive: true);
    }

    [Fact]
    public async Task A_submitted_run_streams_every_event_and_a_reconnect_resumes_after_the_last_one_seen()
    {
        var submitted = await _client.PostAsJsonAsync("/runs", new { plan = "demo", inputs = new { n = 3 } });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var runId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("run_id").GetString()!;

        var all = await ReadEventsAsync($"/runs/{runId}/events", lastEventId: null);
        var resumed = await ReadEventsAsync($"/runs/{runId}/events", lastEventId: 3);

        Assert.Equal(Enumerable.Range(1, all.Count - 1).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), all.SkipLast(1).Select(e => e.Id));
        Assert.Equal("run_started", all[0].Name);
        Assert.Equal("run_finished", all[^2].Name);
        Assert.Equal("end", all[^1].Name);
        Assert.Equal(all.Skip(3).Select(e => (e.Id, e.Name, e.Data)), resumed.Select(e => (e.Id, e.Name, e.Data)));
        var b = await _client.GetFromJsonAsync<JsonElement>($"/runs/{runId}/tasks/b");
        Assert.Equal(("succeeded", "n=3"), (b.GetProperty("status").GetString(), b.GetProperty("output").GetString()));
        var report = await _client.GetFromJsonAsync<JsonElement>($"/runs/{runId}");
        Assert.Equal("succeeded", report.GetProperty("status").GetString());
        var listed = await _client.GetFromJsonAsync<JsonElement>("/runs?plan=demo");
        Assert.Contains(listed.GetProperty("runs").EnumerateArray(), r => r.GetProperty("run_id").GetString() == runId);
    }

    [Fact]
    public async Task A_run_is_cancelled_through_the_api_and_cannot_be_cancelled_twice()
    {
        var submitted = await _client.PostAsJsonAsync("/runs", new { plan = "long" });
        var runId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("run_id").GetString()!;

        var cancel = await _client.PostAsync($"/runs/{runId}/cancel", null);
        var events = await ReadEventsAsync($"/runs/{runId}/events", lastEventId: null);
        var again = await _client.PostAsync($"/runs/{runId}/cancel", null);

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Contains(events, e => e.Name == "task_finished" && e.Data.Contains("\"status\":\"cancelled\"", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task What_a_client_gets_wrong_is_a_problem_document_saying_what()
    {
        var unknown = await _client.PostAsJsonAsync("/runs", new { plan = "dmo" });
        var badInput = await _client.PostAsJsonAsync("/runs", new { plan = "demo", inputs = new { n = "x" } });
        var badWorkers = await _client.PostAsJsonAsync("/runs", new { plan = "demo", workers = 0 });
        var badStrategy = await _client.PostAsJsonAsync("/runs", new { plan = "demo", strategy = "fastest" });
        var noRun = await _client.GetAsync("/runs/nope");
        // Sent as a client sends a large body: asking first (Expect: 100-continue). The service refuses it from its
        // length without reading it; a client that sent it all at once could find the connection closed under it.
        using var tooBigRequest = new HttpRequestMessage(HttpMethod.Post, "/runs") { Content = new StringContent(new string('x', 2 << 20), Encoding.UTF8, "application/json") };
        tooBigRequest.Headers.ExpectContinue = true;
        var tooBig = await _client.SendAsync(tooBigRequest);

        Assert.Equal((HttpStatusCode.NotFound, "application/problem+json"), (unknown.StatusCode, unknown.Content.Headers.ContentType?.MediaType));
        Assert.Contains("no plan 'dmo' (did you mean 'demo'?)", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, badInput.StatusCode);
        var problem = await badInput.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("PF0014", problem.GetProperty("errors")[0].GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, badWorkers.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badStrategy.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, noRun.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);

        var misspelt = await _client.PostAsJsonAsync("/runs", new { plan = "demo", worker = 2 });
        Assert.Equal(HttpStatusCode.BadRequest, misspelt.StatusCode);
        Assert.Contains("unknown field 'worker' in the request (did you mean 'workers'?)", await Detail(misspelt), StringComparison.Ordinal);
        var notJson = await _client.PostAsync("/runs", new StringContent("{\"plan\": nope}", Encoding.UTF8, "application/json"));
        Assert.StartsWith("the request is not JSON: line 1, byte ", await Detail(notJson), StringComparison.Ordinal);
        var noType = await _client.PostAsync("/runs", new ByteArrayContent("{}"u8.ToArray()));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, noType.StatusCode);
        var missingInput = await _client.PostAsJsonAsync("/runs", new { plan = new { id = "needs", inputs = new { who = new { type = "string" } }, tasks = new[] { new { id = "t", worker = "template", with = new { text = "{{inputs.who}}" } } } } });
        Assert.Contains("input 'who' is required (string); give it in the request's \"inputs\": {\"who\": …}", await Detail(missingInput), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_token_every_request_but_health_needs_it()
    {
        var (app, client) = await StartAsync(new ServeSettings { PlansFolder = _plans, Token = "s3cret-token" });
        await using (app)
        using (client)
        {
            var without = await client.GetAsync("/plans");
            var wrong = await Send(client, "/plans", "not-it");
            var right = await Send(client, "/plans", "s3cret-token");
            var health = await client.GetAsync("/health");

            Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Contains("does not match", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, right.StatusCode);
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.DoesNotContain("s3cret-token", await without.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task A_plan_sent_with_the_request_runs_when_its_workers_are_allowed()
    {
        var submitted = await _client.PostAsJsonAsync("/runs", new
        {
            plan = new { id = "sent", tasks = new object[] { new { id = "hello", worker = "template", with = new { text = "hi {{inputs.who}}" } } }, inputs = new { who = new { type = "string" } } },
            inputs = new { who = "there" },
        });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var runId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("run_id").GetString()!;
        await ReadEventsAsync($"/runs/{runId}/events", lastEventId: null);

        var hello = await _client.GetFromJsonAsync<JsonElement>($"/runs/{runId}/tasks/hello");
        Assert.Equal("hi there", hello.GetProperty("output").GetString());

        var kept = Directory.GetFiles(Path.Combine(_plans, "sent")).Length;
        var invalid = await _client.PostAsJsonAsync("/runs", new { plan = new { id = "bad", tasks = new object[] { new { id = "t", worker = "template", depends_on = new[] { "nope" } } } } });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Contains("nope", await invalid.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(kept, Directory.GetFiles(Path.Combine(_plans, "sent")).Length);
    }

    [Fact]
    public async Task A_plan_sent_over_http_may_not_use_the_process_worker_directly_or_inside_a_section()
    {
        var plugins = Path.Combine(CliProcess.RepositoryRoot, "plugins.json");
        var (app, client) = await StartAsync(new ServeSettings { PlansFolder = _plans, Plugins = plugins, SubmittedFolder = Path.Combine(_plans, "sent") });
        await using (app)
        using (client)
        {
            var shell = new { id = "shell", tasks = new object[] { new { id = "t", worker = "process", with = new { command = "sh", args = new[] { "-c", "id" } } } } };
            var nested = new { id = "nested", tasks = new object[] { new { id = "s", worker = "section", with = new { worker = "process", sections = new[] { "a" } } } } };

            var direct = await client.PostAsJsonAsync("/runs", new { plan = shell });
            var inside = await client.PostAsJsonAsync("/runs", new { plan = nested });

            Assert.Equal(HttpStatusCode.Forbidden, direct.StatusCode);
            Assert.Contains("may not use worker 'process'", await direct.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Forbidden, inside.StatusCode);
            Assert.Empty(Directory.Exists(Path.Combine(_plans, "sent")) ? Directory.GetFiles(Path.Combine(_plans, "sent")) : []);
            await app.StopAsync();
        }

        // An operator who allows it.
        var (allowing, allowed) = await StartAsync(new ServeSettings { Plugins = plugins, AllowedWorkers = ["process", "template"], SubmittedFolder = Path.Combine(_plans, "sent") });
        await using (allowing)
        using (allowed)
        {
            var ok = await allowed.PostAsJsonAsync("/runs", new { plan = new { id = "shell", tasks = new object[] { new { id = "t", worker = "process", with = new { command = "echo", args = new[] { "allowed" } } } } } });
            Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
            await allowing.StopAsync();
        }
    }

    [Fact]
    public async Task A_plan_in_yaml_is_a_request_body_and_its_errors_name_its_lines()
    {
        const string yaml = """
            id: sent-yaml
            inputs:
              who: { type: string }
              times: { type: number }
            tasks:
              - id: hello
                worker: template
                with: { text: "hi {{inputs.who}} x{{inputs.times}}" }
            """;
        using var body = new StringContent(yaml, Encoding.UTF8, "application/yaml");
        var submitted = await _client.PostAsync("/runs?input=who=there&inputs=" + Uri.EscapeDataString("""{"times": 2}"""), body);
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var runId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("run_id").GetString()!;
        await ReadEventsAsync($"/runs/{runId}/events", lastEventId: null);
        Assert.Equal("hi there x2", (await _client.GetFromJsonAsync<JsonElement>($"/runs/{runId}/tasks/hello")).GetProperty("output").GetString());

        using var broken = new StringContent("id: broken\ntasks:\n  - id: t\n    worker: template\n    depends_on: [nope]\n", Encoding.UTF8, "application/yaml");
        var invalid = await _client.PostAsync("/runs", broken);
        Assert.Equal((HttpStatusCode.BadRequest, "application/problem+json"), (invalid.StatusCode, invalid.Content.Headers.ContentType?.MediaType));
        var error = (await invalid.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray().Single(e => e.GetProperty("code").GetString() == "PF0006");
        Assert.Equal(("t", 5), (error.GetProperty("task").GetString(), error.GetProperty("line").GetInt32()));

        using var noValue = new StringContent(yaml, Encoding.UTF8, "application/yaml");
        var withoutValue = await _client.PostAsync("/runs?input=who", noValue);
        Assert.Equal(HttpStatusCode.BadRequest, withoutValue.StatusCode);
        Assert.Contains("input 'who': write NAME=VALUE", await Detail(withoutValue), StringComparison.Ordinal);

        using var missing = new StringContent(yaml, Encoding.UTF8, "application/yaml");
        var required = await (await _client.PostAsync("/runs?input=who=x", missing)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("PF0014", required.GetProperty("errors")[0].GetProperty("code").GetString());
        Assert.Contains("input 'times' is required (number); give it as ?input=times=VALUE", required.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var typo = new StringContent(yaml, Encoding.UTF8, "application/yaml");
        var unknownInput = await _client.PostAsync("/runs?input=whoo=x", typo);
        Assert.Equal(HttpStatusCode.BadRequest, unknownInput.StatusCode);
        Assert.Contains("input 'whoo': the plan has no such input (did you mean 'who'?)", await unknownInput.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_full_queue_refuses_a_run_with_429_and_retry_after()
    {
        var (app, client) = await StartAsync(new ServeSettings { PlansFolder = _plans, MaxActiveRuns = 1, MaxQueuedRuns = 1, SubmittedFolder = Path.Combine(_plans, "sent") });
        await using (app)
        using (client)
        {
            var running = await client.PostAsJsonAsync("/runs", new { plan = "long" });
            var queued = await client.PostAsJsonAsync("/runs", new { plan = "long" });
            var refused = await client.PostAsJsonAsync("/runs", new { plan = "long" });

            Assert.Equal((HttpStatusCode.Accepted, HttpStatusCode.Accepted), (running.StatusCode, queued.StatusCode));
            Assert.Equal((HttpStatusCode.TooManyRequests, "application/problem+json"), (refused.StatusCode, refused.Content.Headers.ContentType?.MediaType));
            Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task The_typed_client_submits_follows_resumes_its_stream_and_reads_a_run()
    {
        using var client = new ParallelFlowClient(_client);
        var plans = await client.GetPlansAsync();
        Assert.Equal("number", plans.Single(p => p.Id == "demo").Inputs["n"].Type);

        var run = await client.SubmitAsync("demo", new Dictionary<string, object?> { ["n"] = 7 });
        var firstThree = new List<ServiceEvent>();
        await foreach (var e in client.WatchAsync(run.RunId))
        {
            firstThree.Add(e);
            if (firstThree.Count == 3)
            {
                break;
            }
        }

        // Dropped after the third event and taken up again from there: the rest, none twice.
        var rest = new List<ServiceEvent>();
        await foreach (var e in client.WatchAsync(run.RunId, after: firstThree[^1].Id))
        {
            rest.Add(e);
        }

        var all = firstThree.Concat(rest).ToList();
        Assert.Equal(Enumerable.Range(1, all.Count).Select(i => (long)i), all.Select(e => e.Id));
        Assert.Equal(ParallelFlow.Engine.Execution.RunEventKind.RunStarted, all[0].Event.Kind);
        Assert.Equal(ParallelFlow.Engine.Execution.RunEventKind.RunFinished, all[^1].Event.Kind);
        Assert.Equal("n=7", (await client.GetTaskAsync(run.RunId, "b")).Output);
        Assert.Equal("succeeded", (await client.WaitAsync(run.RunId)).GetProperty("status").GetString());
        Assert.Contains((await client.GetRunsAsync(plan: "demo")).Runs, r => r.RunId == run.RunId && r.Status == "succeeded");

        var wrong = await Assert.ThrowsAsync<ParallelFlowServiceException>(() => client.SubmitPlanAsync(JsonSerializer.SerializeToElement(new { id = "bad", tasks = new object[] { new { id = "t", worker = "template", depends_on = new[] { "nope" } } } })));
        Assert.Equal(HttpStatusCode.BadRequest, wrong.Status);
        Assert.Contains(wrong.Errors, e => e is { Code: "PF0006", Task: "t", Line: 1 });
        var missing = await Assert.ThrowsAsync<ParallelFlowServiceException>(() => client.CancelAsync("no-such-run"));
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);

        var yaml = await client.SubmitYamlAsync("id: y\ninputs:\n  who: { type: string }\ntasks:\n  - { id: t, worker: template, with: { text: \"hi {{inputs.who}}\" } }\n", new Dictionary<string, object?> { ["who"] = "yaml" });
        await client.WaitAsync(yaml.RunId);
        Assert.Equal("hi yaml", (await client.GetTaskAsync(yaml.RunId, "t")).Output);
    }

    [Fact]
    public async Task The_typed_client_sends_inputs_as_json_with_the_strategy_and_worker_count()
    {
        // The overloads a trimmed or natively compiled program uses: inputs already JSON, nothing serialized by reflection.
        using var client = new ParallelFlowClient(_client);

        var demo = await client.SubmitAsync("demo", new Dictionary<string, JsonElement> { ["n"] = JsonElement.Parse("42") });
        await client.WaitAsync(demo.RunId);
        // Five tasks that need nothing, on 3 workers and in plan order: neither is what the service would choose (the
        // critical path first, on as many workers as the machine has cores, up to the task count).
        var sent = await client.SubmitPlanAsync(
            JsonElement.Parse("""{ "id": "sent", "inputs": { "who": { "type": "string" } }, "tasks": [""" +
                string.Join(", ", Enumerable.Range(0, 5).Select(i => $$$"""{ "id": "t{{{i}}}", "worker": "template", "with": { "text": "hi {{inputs.who}}" } }""")) + "] }"),
            new Dictionary<string, JsonElement> { ["who"] = JsonElement.Parse("\"json\"") },
            new SubmitOptions(Strategy: "fifo", Workers: 3));
        var report = await client.WaitAsync(sent.RunId);

        Assert.Equal(("demo", "n=42"), (demo.Plan, (await client.GetTaskAsync(demo.RunId, "b")).Output));
        Assert.Equal("hi json", (await client.GetTaskAsync(sent.RunId, "t4")).Output);
        var summary = report.GetProperty("execution_summary");
        Assert.Equal(("fifo", 3), (summary.GetProperty("strategy").GetString(), summary.GetProperty("workers_used").GetInt32()));
    }

    [Fact]
    public async Task A_stream_cut_mid_way_is_taken_up_again_after_the_last_event_without_a_gap_or_a_repeat()
    {
        // The first two event streams are cut after 700 bytes, as a proxy or a flaky network would.
        var handler = new CuttingHandler(cutAfter: 700, streams: 2) { InnerHandler = new SocketsHttpHandler() };
        using var cutting = new HttpClient(handler) { BaseAddress = _client.BaseAddress };
        using var client = new ParallelFlowClient(cutting);
        var run = await client.SubmitAsync("demo");

        var events = new List<ServiceEvent>();
        await foreach (var e in client.WatchAsync(run.RunId))
        {
            events.Add(e);
        }

        Assert.True(handler.Cut >= 2, "no stream was cut");
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Id));
        Assert.Equal(ParallelFlow.Engine.Execution.RunEventKind.RunFinished, events[^1].Event.Kind);
        var whole = new List<ServiceEvent>();
        await foreach (var e in new ParallelFlowClient(_client).WatchAsync(run.RunId))
        {
            whole.Add(e);
        }

        Assert.Equal(whole, events);
    }

    [Fact]
    public async Task A_page_of_another_site_cannot_start_a_run_and_a_name_that_is_not_this_machines_is_refused()
    {
        using var disguised = new StringContent("id: x\ntasks:\n  - { id: t, worker: template, with: { text: hi } }\n", Encoding.UTF8);
        disguised.Headers.ContentType = MediaTypeHeaderValue.Parse("text/plain; a=yaml");
        var simple = await _client.PostAsync("/runs", disguised);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, simple.StatusCode);

        using var cross = new HttpRequestMessage(HttpMethod.Post, "/runs") { Content = JsonContent.Create(new { plan = "demo" }) };
        cross.Headers.Add("Origin", "https://attacker.example");
        var refused = await _client.SendAsync(cross);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("https://attacker.example", await Detail(refused), StringComparison.Ordinal);

        using var same = new HttpRequestMessage(HttpMethod.Post, "/runs") { Content = JsonContent.Create(new { plan = "demo" }) };
        same.Headers.Add("Origin", _client.BaseAddress!.GetLeftPart(UriPartial.Authority));
        Assert.Equal(HttpStatusCode.Accepted, (await _client.SendAsync(same)).StatusCode);

        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/runs");
        rebound.Headers.Host = "attacker.example";
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.SendAsync(rebound)).StatusCode);
    }

    [Fact]
    public async Task The_graph_of_a_run_gives_each_task_its_dependencies()
    {
        var submitted = await _client.PostAsJsonAsync("/runs", new { plan = "demo" });
        var runId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("run_id").GetString()!;

        var graph = await _client.GetFromJsonAsync<JsonElement>($"/runs/{runId}/graph");

        var tasks = graph.GetProperty("tasks").EnumerateArray().Select(t => (t.GetProperty("id").GetString(), t.GetProperty("worker").GetString(), string.Join(",", t.GetProperty("depends_on").EnumerateArray().Select(d => d.GetInt32())))).ToList();
        Assert.Equal([("a", "simulate", ""), ("b", "template", "0")], tasks);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/runs/nope/graph")).StatusCode);
    }

    [Fact]
    public async Task The_dashboards_files_need_no_token_and_run_only_the_services_own_script()
    {
        var (app, client) = await StartAsync(new ServeSettings { PlansFolder = _plans, Token = "s3cret-token" });
        await using (app)
        using (client)
        {
            var page = await client.GetAsync("/");
            var script = await client.GetAsync("/dashboard/dashboard.js");
            var runs = await client.GetAsync("/runs");

            Assert.Equal((HttpStatusCode.OK, "text/html"), (page.StatusCode, page.Content.Headers.ContentType?.MediaType));
            Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.Contains("<script src=\"/dashboard/dashboard.js\"></script>", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal((HttpStatusCode.OK, "text/javascript"), (script.StatusCode, script.Content.Headers.ContentType?.MediaType));
            Assert.Equal(HttpStatusCode.Unauthorized, runs.StatusCode);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task The_events_of_old_finished_runs_are_let_go_and_their_reports_stay_in_the_journal()
    {
        var (app, client) = await StartAsync(new ServeSettings { PlansFolder = _plans, KeepFinishedRuns = 1, Journal = Path.Combine(_plans, "journal.db"), SubmittedFolder = Path.Combine(_plans, "sent") });
        await using (app)
        using (client)
        using (var typed = new ParallelFlowClient(client))
        {
            var first = await typed.SubmitAsync("demo");
            await typed.WaitAsync(first.RunId);
            var second = await typed.SubmitAsync("demo");
            await typed.WaitAsync(second.RunId);
            var third = await typed.SubmitAsync("demo");
            await typed.WaitAsync(third.RunId);

            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/runs/{first.RunId}/events")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/runs/{third.RunId}/events")).StatusCode);
            Assert.Equal("succeeded", (await typed.GetReportAsync(first.RunId)).GetProperty("status").GetString());
            Assert.Equal("b", (await client.GetFromJsonAsync<JsonElement>($"/runs/{first.RunId}/graph")).GetProperty("tasks")[1].GetProperty("id").GetString());
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task The_openapi_document_describes_every_endpoint_and_both_request_bodies()
    {
        var document = await _client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Subset(paths.ToHashSet(), new HashSet<string> { "/plans", "/runs", "/runs/{id}", "/runs/{id}/events", "/runs/{id}/graph", "/runs/{id}/tasks/{task}", "/runs/{id}/cancel", "/runs/{id}/resume" });
        Assert.DoesNotContain("/", paths);
        var body = document.GetProperty("paths").GetProperty("/runs").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        Assert.Equal(["application/json", "application/yaml"], body.EnumerateObject().Select(c => c.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("http://127.0.0.1:8088", true)]
    [InlineData("http://localhost:5000", true)]
    [InlineData("http://[::1]:5000", true)]
    [InlineData("http://0.0.0.0:8088", false)]
    [InlineData("http://*:8088", false)]
    [InlineData("http://127.0.0.1:1;http://10.0.0.5:2", false)]
    public void Only_loopback_addresses_go_without_a_token(string urls, bool loopback) =>
        Assert.Equal(loopback, ParallelFlowServer.IsLoopback(urls));

    private static async Task<string> Detail(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;

    private static async Task<HttpResponseMessage> Send(HttpClient client, string path, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    private static async Task<(WebApplication App, HttpClient Client)> StartAsync(ServeSettings settings)
    {
        var port = FreePorts.Next();
        var app = ParallelFlowServer.Build(settings with { Urls = $"http://127.0.0.1:{port}" });
        await app.StartAsync();
        return (app, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) });
    }

    private async Task<List<(string? Id, string Name, string Data)>> ReadEventsAsync(string path, int? lastEventId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is { } last)
        {
            request.Headers.Add("Last-Event-ID", last.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<(string?, string, string)>();
        string? id = null, name = null, data = null;
        while (await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) is { } line)
        {
            if (line.Length == 0 && name is not null)
            {
                events.Add((id, name, data ?? string.Empty));
                (id, name, data) = (null, null, null);
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        return events;
    }


    /// <summary>Cuts the first <c>streams</c> event streams after <c>cutAfter</c> bytes, with an IOException.</summary>
    private sealed class CuttingHandler(int cutAfter, int streams) : DelegatingHandler
    {
        public int Cut;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (request.RequestUri!.AbsolutePath.EndsWith("/events", StringComparison.Ordinal) && Interlocked.Increment(ref Cut) <= streams)
            {
                var inner = await response.Content.ReadAsStreamAsync(cancellationToken);
                var cut = new StreamContent(new CutStream(inner, cutAfter));
                foreach (var header in response.Content.Headers)
                {
                    cut.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }

                response.Content = cut;
            }

            return response;
        }
    }

    private sealed class CutStream(Stream inner, int cutAfter) : Stream
    {
        private int _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_read >= cutAfter)
            {
                throw new IOException("the connection was cut");
            }

            var n = await inner.ReadAsync(buffer[..Math.Min(buffer.Length, cutAfter - _read)], cancellationToken);
            _read += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
