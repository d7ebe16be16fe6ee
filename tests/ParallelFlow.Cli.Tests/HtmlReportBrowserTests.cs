using System.Text.Json;
using Microsoft.Playwright;

namespace ParallelFlow.Cli.Tests;

/// <summary>
/// The HTML report of real runs, opened in a real browser — Debian's chromium, headless, driven by Playwright — with
/// every request off the page's own file refused: no console error, one graph node per task coloured by its status,
/// one Gantt bar per attempt, a table row per task, the vote and section decisions. A screenshot of each is kept in
/// artifacts/test-screenshots.
/// </summary>
public sealed class HtmlReportBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Theory]
    [InlineData("report-showcase", 0)]
    [InlineData("partial-failure", 1)]
    public async Task The_report_of_a_run_draws_every_task_and_attempt_in_chromium_without_errors(string example, int expectedExitCode)
    {
        using var folderScratch = new TempFolder("parallelflow-html-");
        var folder = folderScratch.Path;
        var html = Path.Combine(folder, "report.html");
        var json = Path.Combine(folder, "report.json");
        var (exitCode, output, error) = await CliProcess.RunAsync("run", $"examples/{example}.json", "--no-journal", "--quiet", "--html", html, "-r", json);
        Assert.True(exitCode == expectedExitCode, output + error);

        using var report = JsonDocument.Parse(File.ReadAllText(json));
        var tasks = report.RootElement.GetProperty("results").EnumerateArray().ToList();
        var attempts = tasks.Sum(t => t.TryGetProperty("attempt_log", out var log) ? log.GetArrayLength() : 0);
        Assert.Equal(tasks.Sum(t => t.GetProperty("attempts").GetInt32()), attempts);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Args = ["--no-sandbox"], Headless = true });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                lock (problems)
                {
                    problems.Add($"console {message.Type}: {message.Text}");
                }
            }
        };
        page.PageError += (_, message) =>
        {
            lock (problems)
            {
                problems.Add($"page error: {message}");
            }
        };
        // Self-contained: anything but the page's own file is refused, and counted.
        await page.RouteAsync("**/*", route => route.Request.Url.StartsWith("file:", StringComparison.Ordinal)
            ? route.ContinueAsync()
            : Refuse(route, problems));

        await page.GotoAsync(new Uri(html).AbsoluteUri);
        await page.WaitForSelectorAsync("#pf-graph g.pf-node");

        Assert.Equal(tasks.Count, await page.Locator("#pf-graph g.pf-node").CountAsync());
        foreach (var task in tasks)
        {
            var node = page.Locator($"#pf-graph g.pf-node[data-task='{task.GetProperty("id").GetString()}']");
            Assert.Equal(task.GetProperty("status").GetString(), await node.GetAttributeAsync("data-status"));
        }

        var edges = tasks.Sum(t => Ids(t, "depends_on").Union(Ids(t, "after")).Count());
        Assert.Equal(edges, await page.Locator("#pf-graph path.pf-edge").CountAsync());
        Assert.True(await page.Locator("#pf-graph .pf-critical").CountAsync() > 0, "the critical path is not drawn");
        Assert.Equal(attempts, await page.Locator("#pf-gantt .pf-bar").CountAsync());
        Assert.Equal(report.RootElement.GetProperty("execution_summary").GetProperty("workers_used").GetInt32(), await page.Locator("#pf-gantt .pf-slot").CountAsync());
        Assert.Equal(tasks.Count, await page.Locator("#pf-tasks tbody tr.pf-task-row").CountAsync());
        Assert.Equal(1, await page.Locator("#pf-summary").CountAsync());

        var votes = tasks.Where(t => Kind(t) == "vote").ToList();
        var sections = tasks.Where(t => Kind(t) == "section").ToList();
        Assert.Equal(votes.Count, await page.Locator(".pf-vote").CountAsync());
        Assert.Equal(sections.Count, await page.Locator(".pf-section").CountAsync());
        Assert.Equal(sections.Sum(s => s.GetProperty("decision").GetProperty("completed_sections").GetArrayLength()), await page.Locator(".pf-section-row").CountAsync());

        // Sorting, expanding a row and zooming the chart leave no error either.
        await page.Locator("#pf-tasks th[data-sort]").First.ClickAsync();
        await page.Locator("#pf-tasks tbody tr.pf-task-row").First.ClickAsync();
        await page.Locator("#pf-graph g.pf-node").First.ClickAsync();

        var shots = Path.Combine(CliProcess.RepositoryRoot, "artifacts", "test-screenshots");
        Directory.CreateDirectory(shots);
        await page.ScreenshotAsync(new() { Path = Path.Combine(shots, $"{example}.png"), FullPage = true });
        lock (problems)
        {
            Assert.Empty(problems);
        }
    }

    private static async Task Refuse(IRoute route, List<string> problems)
    {
        lock (problems)
        {
            problems.Add($"request off the page: {route.Request.Url}");
        }

        await route.AbortAsync();
    }

    private static IEnumerable<string> Ids(JsonElement task, string name) =>
        task.TryGetProperty(name, out var ids) ? ids.EnumerateArray().Select(i => i.GetString()!) : [];

    private static string? Kind(JsonElement task) =>
        task.TryGetProperty("decision", out var decision) && decision.TryGetProperty("kind", out var kind) ? kind.GetString() : null;
}
