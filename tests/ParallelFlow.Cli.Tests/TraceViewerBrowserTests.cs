using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace ParallelFlow.Cli.Tests;

/// <summary>
/// The Chrome trace of a real run, opened in a real trace viewer in a real browser: speedscope (an offline viewer of
/// the trace event format, fetched once with <c>npm pack</c>) in Debian's chromium, headless, driven by Playwright,
/// with every request off the viewer's own files refused. The viewer must take the file as the trace event format and
/// show one thread per worker slot, each listing exactly the slices the trace put on that slot, with their durations.
/// A screenshot is kept in artifacts/test-screenshots.
/// </summary>
/// <remarks>Perfetto's UI needs the network and this chromium no longer serves chrome://tracing; speedscope reads the
/// same format offline.</remarks>
public sealed class TraceViewerBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Viewer = "speedscope@1.25.0";

    [Fact]
    public async Task A_run_s_trace_opens_in_a_trace_viewer_with_a_thread_per_worker_slot_and_every_slice_on_it()
    {
        using var folderScratch = new TempFolder("parallelflow-trace-");
        var folder = folderScratch.Path;
        var trace = Path.Combine(folder, "run.trace.json");
        var (exitCode, output, error) = await CliProcess.RunAsync("run", "examples/report-showcase.json", "--no-journal", "--quiet", "--trace", trace);
        Assert.True(exitCode == 0, output + error);

        // What the trace puts on each worker slot: complete slices (ph X) on the workers' process, by thread.
        using var document = JsonDocument.Parse(File.ReadAllText(trace));
        var events = document.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
        var workersProcess = events.Single(e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("name").GetString() == "process_name"
            && e.GetProperty("args").GetProperty("name").GetString()!.EndsWith(": workers", StringComparison.Ordinal)).GetProperty("pid").GetInt32();
        var slots = events
            .Where(e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("name").GetString() == "thread_name" && e.GetProperty("pid").GetInt32() == workersProcess)
            .ToDictionary(e => e.GetProperty("tid").GetInt32(), e => e.GetProperty("args").GetProperty("name").GetString()!);
        var slices = events
            .Where(e => e.GetProperty("ph").GetString() == "X" && e.GetProperty("pid").GetInt32() == workersProcess)
            .GroupBy(e => e.GetProperty("tid").GetInt32())
            .ToDictionary(g => g.Key, g => g.Select(e => (Name: e.GetProperty("name").GetString()!, Milliseconds: e.GetProperty("dur").GetDouble() / 1000)).ToList());
        Assert.True(slots.Count >= 2, $"the showcase runs on several worker slots; the trace has {slots.Count}");
        Assert.Contains(slices.Values.SelectMany(s => s), s => s.Name.Contains("(attempt 2)", StringComparison.Ordinal));
        Assert.Contains(slices.Values.SelectMany(s => s), s => s.Name.StartsWith("retry delay: ", StringComparison.Ordinal));

        var viewer = await ViewerAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Args = ["--no-sandbox"], Headless = true });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1400, Height = 800 } });
        var problems = new List<string>();
        var imported = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        page.Console += (_, message) =>
        {
            if (message.Text.StartsWith("Importing as ", StringComparison.Ordinal))
            {
                imported.TrySetResult(message.Text);
            }

            // The software WebGL fallback's notes are chromium's, about this machine's missing GPU.
            if (message.Type == "error" || (message.Type == "warning" && !message.Text.Contains("WebGL", StringComparison.Ordinal) && !message.Text.Contains("GL Driver", StringComparison.Ordinal)))
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
        await page.RouteAsync("**/*", async route =>
        {
            if (route.Request.Url.StartsWith("file:", StringComparison.Ordinal))
            {
                await route.ContinueAsync();
                return;
            }

            lock (problems)
            {
                problems.Add($"request off the page: {route.Request.Url}");
            }

            await route.AbortAsync();
        });

        await page.GotoAsync(new Uri(Path.Combine(viewer, "index.html")).AbsoluteUri);
        await page.Locator("input[type=file]").SetInputFilesAsync(trace);
        Assert.Equal("Importing as Trace Event Format profile", await imported.Task.WaitAsync(TimeSpan.FromSeconds(30)));

        // One thread per worker slot, in slot order; the sandwich view lists each thread's slices as text.
        await page.GetByText("Sandwich").ClickAsync();
        var threads = 0;
        foreach (var (tid, name) in slots.OrderBy(s => s.Key))
        {
            threads++;
            var title = $"{name} (tid {tid.ToString(CultureInfo.InvariantCulture)}) ({threads}/{slots.Count})";
            await page.GetByText(title).WaitForAsync(new() { Timeout = 10_000 });
            var expected = slices[tid];
            // The thread's title can be drawn a frame before its table of slices: wait (bounded) for the table, then
            // say which slice is missing if it never comes.
            try
            {
                await page.WaitForFunctionAsync("names => names.every(name => document.body.innerText.includes(name))",
                    expected.Select(s => s.Name).ToArray(), new() { Timeout = 10_000 });
            }
            catch (TimeoutException)
            {
                // The assertions below name what is missing.
            }

            var shown = await page.Locator("body").InnerTextAsync();
            foreach (var (slice, milliseconds) in expected)
            {
                Assert.True(shown.Contains(slice, StringComparison.Ordinal), $"{name}: the viewer does not show the slice '{slice}'");
            }

            // The viewer's own total for the thread's busiest slice is the trace's duration (printed to 2 places, in
            // ms or s).
            var longest = expected.MaxBy(s => s.Milliseconds).Milliseconds;
            var totals = Regex.Matches(shown, @"(\d+(?:\.\d+)?)(ms|s) \(").Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * (m.Groups[2].Value == "s" ? 1000 : 1));
            // A total shown in seconds has 10 ms steps: a 999.6 ms slice shows as "1.00s".
            Assert.Contains(totals, total => Math.Abs(total - longest) <= (total >= 1000 || longest >= 1000 ? 10 : 0.02));
            if (threads == 1)
            {
                var shots = Path.Combine(CliProcess.RepositoryRoot, "artifacts", "test-screenshots");
                Directory.CreateDirectory(shots);
                await page.GetByText("Time Order").ClickAsync();
                await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "trace-in-speedscope.png") });
                await page.GetByText("Sandwich").ClickAsync();
            }

            await page.Keyboard.PressAsync("n");
        }

        lock (problems)
        {
            Assert.Empty(problems);
        }
    }

    /// <summary>The viewer's files, fetched once with npm into the user's cache (as the offline model is).</summary>
    private static async Task<string> ViewerAsync()
    {
        var home = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } cache ? cache : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        var folder = Path.Combine(home, "parallelflow", "viewers", Viewer.Replace('@', '-'));
        var release = Path.Combine(folder, "package", "dist", "release");
        if (File.Exists(Path.Combine(release, "index.html")))
        {
            return release;
        }

        var download = Directory.CreateTempSubdirectory("parallelflow-viewer-").FullName;
        var start = new ProcessStartInfo("npm", ["pack", Viewer, "--silent", "--pack-destination", download])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = download,
        };
        using (var npm = Process.Start(start)!)
        {
            var stderr = npm.StandardError.ReadToEndAsync();
            await npm.StandardOutput.ReadToEndAsync();
            await npm.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
            Assert.True(npm.ExitCode == 0, $"npm pack {Viewer} failed: {await stderr}");
        }

        var unpacked = Path.Combine(download, "unpacked");
        await using (var gzip = new GZipStream(File.OpenRead(Directory.GetFiles(download, "*.tgz").Single()), CompressionMode.Decompress))
        {
            Directory.CreateDirectory(unpacked);
            await TarFile.ExtractToDirectoryAsync(gzip, unpacked, overwriteFiles: true);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(folder)!);
        try
        {
            Directory.Move(unpacked, folder);
        }
        catch (IOException) when (File.Exists(Path.Combine(release, "index.html")))
        {
            // Another test process unpacked it first.
        }

        Directory.Delete(download, recursive: true);
        return release;
    }
}
