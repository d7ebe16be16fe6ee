using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace ParallelFlow.Server.Tests;

/// <summary>
/// The dashboard in a real browser — Debian's chromium, headless, driven by Playwright — against the service on
/// 127.0.0.1 with a token: a run submitted through the API appears in the list, its nodes change colour as its events
/// arrive, the cancel and resume buttons work, a 10,000-task run is drawn whole without freezing the page, and nothing
/// goes to the console or off the service. Screenshots are kept in artifacts/test-screenshots.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Token = "dashboard-test-token";
    private const string Succeeded = "rgb(22,163,74)";
    private const string Running = "rgb(37,99,235)";

    private readonly string _folder = Directory.CreateTempSubdirectory("parallelflow-dashboard-").FullName;
    private readonly List<string> _problems = [];
    private WebApplication _app = null!;
    private HttpClient _client = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private string _address = null!;

    public async Task InitializeAsync()
    {
        var plans = Directory.CreateDirectory(Path.Combine(_folder, "plans")).FullName;
        File.WriteAllText(Path.Combine(plans, "steps.json"), """
            { "id": "steps", "tasks": [
              { "id": "first", "worker": "simulate", "with": { "seconds": 1.5 } },
              { "id": "left", "worker": "simulate", "depends_on": ["first"], "with": { "seconds": 1 } },
              { "id": "right", "worker": "simulate", "depends_on": ["first"], "with": { "seconds": 6 } },
              { "id": "last", "worker": "template", "depends_on": ["left", "right"], "with": { "text": "done" } } ] }
            """);
        File.WriteAllText(Path.Combine(plans, "long.json"), """
            { "id": "long", "tasks": [
              { "id": "quick", "worker": "template", "with": { "text": "kept" } },
              { "id": "wait", "worker": "simulate", "depends_on": ["quick"], "with": { "seconds": 120 } } ] }
            """);
        File.WriteAllText(Path.Combine(plans, "wide.json"), WidePlan(10_000, width: 100));
        var port = FreePorts.Next();
        _address = $"http://127.0.0.1:{port}";
        _app = ParallelFlowServer.Build(new ServeSettings
        {
            Urls = _address,
            PlansFolder = plans,
            Token = Token,
            Workers = 4,
            Journal = Path.Combine(_folder, "journal.db"),
            SubmittedFolder = Path.Combine(_folder, "sent"),
        });
        await _app.StartAsync();
        _client = new HttpClient { BaseAddress = new Uri(_address), Timeout = TimeSpan.FromSeconds(30) };
        _client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Args = ["--no-sandbox"], Headless = true });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_submitted_run_appears_and_its_nodes_change_colour_as_its_events_arrive()
    {
        var page = await OpenAsync();
        var runId = await SubmitAsync("steps");

        // It appears in the list (refreshed every 3 s), and a click opens it.
        var row = page.Locator($"#pf-runs tr[data-run='{runId}']");
        await row.WaitForAsync(new() { Timeout = 15_000 });
        await row.ClickAsync();
        await page.WaitForFunctionAsync("id => window.pfDashboard.view && window.pfDashboard.view.runId === id && window.pfDashboard.view.x !== undefined", runId);

        // The colour drawn at each node, sampled from the canvas until the run has ended.
        var seen = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var shotLive = false;
        while (await page.Locator("#pf-run-status").TextContentAsync() is not "succeeded" && DateTime.UtcNow < deadline)
        {
            foreach (var task in new[] { "first", "left", "right", "last" })
            {
                var colour = await ColourAtAsync(page, task);
                var list = seen.TryGetValue(task, out var l) ? l : seen[task] = [];
                if (list.Count == 0 || list[^1] != colour)
                {
                    list.Add(colour);
                }
            }

            if (!shotLive && seen["right"][^1] == Running)
            {
                await Screenshot(page, "dashboard-live");
                shotLive = true;
            }

            await Task.Delay(40);
        }

        await Screenshot(page, "dashboard-run");
        Assert.Equal("succeeded", await page.Locator("#pf-run-status").TextContentAsync());
        Assert.Equal(4, await page.EvaluateAsync<int>("window.pfDashboard.view.n"));
        foreach (var task in new[] { "first", "left", "right", "last" })
        {
            Assert.Equal(Succeeded, await ColourAtAsync(page, task));
        }

        // "right" runs for 6 s after "first": it was seen in another colour (pending or running) before green.
        // (Its green comes at the end and is checked above; the loop may stop before it samples it.)
        Assert.True(seen["right"].Contains(Running), $"right was drawn as {string.Join(" → ", seen["right"])}");
        Assert.DoesNotContain(Succeeded, seen["right"].TakeWhile(c => c != Running));
        Assert.Equal("4", await page.Locator("#pf-counts [data-status='succeeded']").EvaluateAsync<string>("e => e.textContent.trim().split(' ').pop()"));
        Assert.Equal(3, await page.EvaluateAsync<int>("window.pfDashboard.view.attempts.filter(a => a.status === 'succeeded' && a.end !== null).length - 1"));

        // A click on a node shows the task's details, its output as text.
        var last = await page.EvaluateAsync<JsonElement>("window.pfDashboard.view.where('last')");
        await page.Locator("#pf-graph").ClickAsync(new() { Position = new() { X = last.GetProperty("x").GetSingle(), Y = last.GetProperty("y").GetSingle() } });
        await page.Locator("#pf-task pre.pf-output").WaitForAsync();
        Assert.Equal("done", await page.Locator("#pf-task pre.pf-output").TextContentAsync());
        AssertNoProblems();
    }

    [Fact]
    public async Task The_cancel_button_cancels_a_run_and_the_resume_button_continues_it_from_the_journal()
    {
        var runId = await SubmitAsync("long");
        var page = await OpenAsync($"#/runs/{runId}");
        await page.WaitForFunctionAsync("() => window.pfDashboard.view && window.pfDashboard.view.where('wait').status === 'running'");

        await page.Locator("#pf-cancel").ClickAsync();
        await page.WaitForFunctionAsync("() => document.getElementById('pf-run-status').textContent === 'cancelled'", null, new() { Timeout = 30_000 });
        var report = await _client.GetFromJsonAsync<JsonElement>($"/runs/{runId}");
        Assert.Equal("cancelled", report.GetProperty("status").GetString());
        Assert.False(await page.Locator("#pf-resume").IsDisabledAsync());
        await Screenshot(page, "dashboard-cancelled");

        await page.Locator("#pf-resume").ClickAsync();
        await page.WaitForFunctionAsync("() => window.pfDashboard.view && window.pfDashboard.view.where('wait').status === 'running'", null, new() { Timeout = 30_000 });
        Assert.Contains("1 task(s) kept", await page.Locator("#pf-message").TextContentAsync(), StringComparison.Ordinal);
        Assert.Equal("succeeded", await page.EvaluateAsync<string>("window.pfDashboard.view.where('quick').status"));

        await page.Locator("#pf-cancel").ClickAsync();
        await page.WaitForFunctionAsync("() => document.getElementById('pf-run-status').textContent === 'cancelled'", null, new() { Timeout = 30_000 });
        AssertNoProblems();
    }

    [Fact]
    public async Task A_run_of_ten_thousand_tasks_is_drawn_whole_while_the_page_keeps_responding()
    {
        var runId = await SubmitAsync("wide");
        var page = await OpenAsync($"#/runs/{runId}");
        await page.WaitForFunctionAsync("() => window.pfDashboard.view && window.pfDashboard.view.n === 10000");

        // Until it is drawn whole, the page answers a call from the test between frames.
        var answers = 0;
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!await page.EvaluateAsync<bool>("() => { const v = window.pfDashboard.view; return v.ended && v.head === 0 && v.queue.length === 0; }"))
        {
            Assert.True(DateTime.UtcNow < deadline, "the 10,000-task run was not drawn whole in 2 minutes");
            answers++;
            await Task.Delay(100);
        }

        var longest = await page.EvaluateAsync<double>("Math.max(0, ...window.pfLongTasks)");
        output.WriteLine($"10,000 tasks: {answers} answers while drawing; longest main-thread task {longest:0} ms");
        await Screenshot(page, "dashboard-10k");
        Assert.Equal(10_000, await page.EvaluateAsync<int>("window.pfDashboard.view.counts.succeeded"));
        Assert.Equal(10_000, await page.EvaluateAsync<int>("window.pfDashboard.view.attempts.length"));
        Assert.Equal("succeeded", await page.Locator("#pf-run-status").TextContentAsync());
        Assert.Equal(Succeeded, await ColourAtAsync(page, "t9999"));
        // A frozen page blocks for seconds; the dashboard works through the burst of events in slices of a frame or so.
        Assert.True(longest < 2_000, $"the page was blocked for {longest:0} ms at a time");
        AssertNoProblems();
    }

    private async Task<IPage> OpenAsync(string hash = "")
    {
        var page = await _browser.NewPageAsync(new() { ViewportSize = new() { Width = 1400, Height = 1000 } });
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                Problem($"console {message.Type}: {message.Text}");
            }
        };
        page.PageError += (_, message) => Problem($"page error: {message}");
        // Nothing but the service: anything else is refused, and counted.
        await page.RouteAsync("**/*", route => route.Request.Url.StartsWith(_address, StringComparison.Ordinal) ? route.ContinueAsync() : Refuse(route));
        await page.AddInitScriptAsync("""
            window.pfLongTasks = [];
            new PerformanceObserver(list => { for (const e of list.getEntries()) window.pfLongTasks.push(e.duration); }).observe({ type: 'longtask', buffered: true });
            """);
        // The token goes in the fragment, which the browser does not send; the page keeps it for the tab.
        await page.GotoAsync($"{_address}/#token={Token}");
        await page.WaitForFunctionAsync("() => window.pfDashboard !== undefined");
        if (hash.Length > 0)
        {
            await page.EvaluateAsync("h => { location.hash = h; }", hash);
        }

        return page;
    }

    private async Task<string> SubmitAsync(string plan)
    {
        var response = await _client.PostAsJsonAsync("/runs", new { plan });
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("run_id").GetString()!;
    }

    /// <summary>The colour the graph's canvas has where a task is drawn, as <c>rgb(r,g,b)</c>.</summary>
    private static Task<string> ColourAtAsync(IPage page, string task) => page.EvaluateAsync<string>("""
        id => {
          const at = window.pfDashboard.view.where(id), r = window.devicePixelRatio || 1, one = document.createElement('canvas');
          one.width = one.height = 1;
          const g = one.getContext('2d', { willReadFrequently: true });
          g.drawImage(document.getElementById('pf-graph'), Math.round(at.x * r), Math.round(at.y * r), 1, 1, 0, 0, 1, 1);
          const p = g.getImageData(0, 0, 1, 1).data;
          return `rgb(${p[0]},${p[1]},${p[2]})`;
        }
        """, task);

    private static string WidePlan(int count, int width)
    {
        var random = new Random(17);
        var text = new StringBuilder("{ \"id\": \"wide\", \"tasks\": [\n");
        for (var i = 0; i < count; i++)
        {
            var layer = i / width;
            var dependencies = layer == 0 ? [] : Enumerable.Range(0, 2).Select(_ => $"\"t{((layer - 1) * width) + random.Next(width)}\"").Distinct();
            text.Append($"  {{ \"id\": \"t{i}\", \"worker\": \"simulate\", \"depends_on\": [{string.Join(", ", dependencies)}], \"with\": {{ \"seconds\": 0.002 }} }}{(i + 1 < count ? "," : "")}\n");
        }

        return text.Append("] }").ToString();
    }

    private void Problem(string text)
    {
        lock (_problems)
        {
            _problems.Add(text);
        }
    }

    private async Task Refuse(IRoute route)
    {
        Problem($"request off the service: {route.Request.Url}");
        await route.AbortAsync();
    }

    private void AssertNoProblems()
    {
        lock (_problems)
        {
            Assert.True(_problems.Count == 0, string.Join("\n", _problems));
        }
    }

    private static async Task Screenshot(IPage page, string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "artifacts", "test-screenshots");
        Directory.CreateDirectory(folder);
        await page.Locator("body").ScreenshotAsync(new() { Path = Path.Combine(folder, name + ".png") });
    }
}
