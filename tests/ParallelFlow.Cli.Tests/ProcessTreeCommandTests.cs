using System.Globalization;

namespace ParallelFlow.Cli.Tests;

/// <summary>No process a task started outlives the command: not on a timeout, not on SIGTERM, and after kill -9 not
/// past the next start. Each test's programs carry a sleep duration of their own, so the test finds exactly them. Not
/// run beside other tests: any command they start may sweep what a killed command left.</summary>
[Collection(nameof(ProcessSweeps))]
public sealed class ProcessTreeCommandTests : IDisposable
{
    // The tests' plans, one a marker, deleted with the folder once the test has ended its programs.
    private readonly TempFolder _plans = new("parallelflow-tree-");

    public void Dispose() => _plans.Dispose();

    [Fact]
    public async Task A_timeout_ends_the_tree_before_the_command_exits_even_alone_in_its_plan()
    {
        var (plan, marker) = Plan("""sh -c "sleep {0} & sleep {0}; wait" """, timeoutSeconds: 1, announce: false);

        var (exitCode, output, error) = await CliProcess.RunAsync("run", plan, "--no-journal");

        Assert.True(exitCode == 1, error + output);
        Assert.Contains("timed_out", output, StringComparison.Ordinal);
        Assert.Empty(Running(marker));
    }

    [Fact]
    public async Task SIGTERM_cancels_like_ctrl_c_and_ends_every_tree_before_exit()
    {
        var (plan, marker) = Plan("setsid sleep {0} </dev/null >/dev/null 2>&1 & sleep {0} & sleep {0}", timeoutSeconds: null, announce: true);
        using var process = CliProcess.Start(["run", plan, "--no-journal"], waitForLine: "output    long: ready");
        await process.LineAsync();
        await WaitForAsync(() => Running(marker).Count == 3);

        process.SendTerminate();
        var exitCode = await process.WaitForExitAsync();

        Assert.Equal(130, exitCode);
        Assert.Contains("long  cancelled", process.Out, StringComparison.Ordinal);
        Assert.Empty(Running(marker));
    }

    [Fact]
    public async Task After_kill_9_the_next_start_ends_what_the_killed_command_left()
    {
        var (plan, marker) = Plan("setsid sleep {0} </dev/null >/dev/null 2>&1 & sleep {0}", timeoutSeconds: null, announce: true);
        using (var process = CliProcess.Start(["run", plan, "--no-journal"], waitForLine: "output    long: ready"))
        {
            await process.LineAsync();
            await WaitForAsync(() => Running(marker).Count == 2);
            process.KillCommandOnly();
            await process.WaitForExitAsync();
        }

        // Nothing could end them at the kill itself; not asserted, since another test assembly's run may sweep them first.
        var (exitCode, _, error) = await CliProcess.RunAsync("plugins");

        Assert.True(exitCode == 0, error);
        Assert.Empty(Running(marker));
    }

    [Fact]
    public async Task A_daemon_a_task_leaves_after_a_normal_run_is_left_alone_by_the_next_start()
    {
        var (plan, marker) = Plan("setsid sleep {0} </dev/null >/dev/null 2>&1 &", timeoutSeconds: null, announce: false);

        var (exitCode, _, error) = await CliProcess.RunAsync("run", plan, "--no-journal");
        await WaitForAsync(() => Running(marker).Count == 1);
        var (pluginsExit, _, _) = await CliProcess.RunAsync("plugins");

        Assert.True(exitCode == 0, error);
        Assert.Equal(0, pluginsExit);
        var daemon = Assert.Single(Running(marker));
        using var process = System.Diagnostics.Process.GetProcessById(daemon);
        process.Kill();
    }

    /// <summary>A plan of one process task running the line, with {0} replaced by a sleep duration no other test uses.</summary>
    private (string Plan, string Marker) Plan(string line, int? timeoutSeconds, bool announce)
    {
        var marker = string.Create(CultureInfo.InvariantCulture, $"300.{Random.Shared.Next(100_000, 999_999)}");
        var command = string.Format(CultureInfo.InvariantCulture, line, marker);
        if (announce)
        {
            command = $"{command} & echo ready; wait";
        }

        var plan = Path.Combine(_plans.Path, $"plan-{marker}.json");
        var timeout = timeoutSeconds is { } t ? string.Create(CultureInfo.InvariantCulture, $"\"timeout_seconds\": {t}, ") : string.Empty;
        File.WriteAllText(plan, $$"""
            { "tasks": [ { "id": "long", "worker": "process", {{timeout}}"with": { "command": {{System.Text.Json.JsonSerializer.Serialize(command)}}, "shell": true } } ] }
            """);
        return (plan, marker);
    }

    /// <summary>The live sleeps of the marker's duration (the shell running the line holds the marker too, and is
    /// counted by its sleeps: it cannot end before they do).</summary>
    private static List<int> Running(string marker)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var commandLine = File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ');
                if (commandLine.StartsWith($"sleep {marker}", StringComparison.Ordinal) && !stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z'))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // Gone while we looked.
            }
        }

        return found;
    }

    /// <summary>Waits for the operating system to start the programs, bounded.</summary>
    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), "the condition did not come true within 10 s");
    }
}

[CollectionDefinition(nameof(ProcessSweeps), DisableParallelization = true)]
public sealed class ProcessSweeps;
