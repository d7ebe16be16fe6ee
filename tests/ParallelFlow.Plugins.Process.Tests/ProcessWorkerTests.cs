using System.Globalization;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Plugins.Process.Tests;

public sealed class ProcessWorkerTests
{
    private static ParallelFlowEngine WithProcessWorker()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker(ProcessWorker.Name, new ProcessWorker());
        return new ParallelFlowEngine(new EngineOptions { Catalog = catalog });
    }

    private static readonly ParallelFlowEngine Engine = WithProcessWorker();

    [Fact]
    public async Task ExitCodes_DecideTheStatus_AndSuccessCodesAreConfigurable()
    {
        var plan = new PlanBuilder("exit-codes")
            .AddTask("ok", "process", t => t.With(new { command = "sh", args = new[] { "-c", "echo done" } }))
            .AddTask("three", "process", t => t.With(new { command = "sh", args = new[] { "-c", "echo oops >&2; exit 3" } }))
            .AddTask("three-is-fine", "process", t => t.With(new { command = "sh", args = new[] { "-c", "exit 3" }, success_codes = new[] { 0, 3 } }))
            .AddTask("no-such-program", "process", t => t.With(new { command = "/no/such/program" }))
            .Build();

        var result = await Engine.RunAsync(plan).Within();

        Assert.Equal((TaskRunStatus.Succeeded, "done"), (result.Tasks[0].Status, result.Tasks[0].Result!.Text));
        Assert.Equal((TaskRunStatus.Failed, "'sh' exited with code 3: oops"), (result.Tasks[1].Status, result.Tasks[1].Error));
        Assert.Equal(TaskRunStatus.Succeeded, result.Tasks[2].Status);
        Assert.Equal(TaskRunStatus.Failed, result.Tasks[3].Status);
        Assert.StartsWith("cannot start '/no/such/program'", result.Tasks[3].Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AProgramThatAllocatesPastTheMemoryLimit_FailsAsMemory_AndOneWithinItSucceeds()
    {
        // A real process that asks for 200 MB under a 100 MB limit, and one that asks for 10 MB; with a shell between,
        // the limit reaches the shell's children too.
        var plan = new PlanBuilder("memory")
            .WithResources(new ResourceSettings(MaxMemoryMb: 100))
            .WithRetry(new RetrySettings { MaxAttempts = 3, InitialDelaySeconds = 0 })
            .AddTask("greedy", "process", t => t.With(new { command = "python3", args = new[] { "-c", "print('allocating'); x = bytearray(200 * 1024 * 1024)" } }))
            .AddTask("modest", "process", t => t.With(new { command = "python3", args = new[] { "-c", "x = bytearray(10 * 1024 * 1024); print(len(x))" } }))
            .AddTask("greedy-child", "process", t => t.With(new { command = "python3 -c 'x = bytearray(300 * 1024 * 1024)'", shell = true }))
            .Build();

        var result = await Engine.RunAsync(plan).Within();

        var greedy = result["greedy"];
        Assert.Equal((TaskRunStatus.Failed, FailureKind.Memory, 1), (greedy.Status, greedy.FailureKind, greedy.Attempts));
        Assert.StartsWith("'python3' went over its memory limit of 100 MB (resources.max_memory_mb) and exited with code 1: ", greedy.Error, StringComparison.Ordinal);
        Assert.Contains("MemoryError", greedy.Error, StringComparison.Ordinal);
        Assert.StartsWith("allocating", greedy.PartialOutput, StringComparison.Ordinal);
        Assert.Equal((TaskRunStatus.Succeeded, "10485760"), (result["modest"].Status, result["modest"].Result!.Text!.Trim()));
        Assert.Equal(FailureKind.Memory, result["greedy-child"].FailureKind);
    }

    [Fact]
    public async Task WithoutALimit_TheSameProgramSucceeds()
    {
        var plan = new PlanBuilder("no-limit")
            .AddTask("greedy", "process", t => t.With(new { command = "python3", args = new[] { "-c", "x = bytearray(200 * 1024 * 1024); print('ok')" } }))
            .Build();

        var result = await Engine.RunAsync(plan).Within();

        Assert.Equal((TaskRunStatus.Succeeded, "ok"), (result["greedy"].Status, result["greedy"].Result!.Text!.Trim()));
    }

    [Fact]
    public async Task AProcessThatGoesSilent_IsStuck_KilledAndRetried_ByTheHeartbeat()
    {
        // Real processes: each attempt prints a line, then sleeps a minute without a word; a 2 s heartbeat ends it.
        var plan = new PlanBuilder("stuck")
            .WithTimeouts(new TimeoutSettings(WorkerHeartbeatSeconds: 2))
            .WithRetry(new RetrySettings { MaxAttempts = 2, InitialDelaySeconds = 0 })
            .AddTask("silent", "process", t => t.With(new { command = "sh", args = new[] { "-c", "echo started; sleep 60" } }))
            .AddTask("chatty", "process", t => t.With(new { command = "sh", args = new[] { "-c", "for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 0.3; done" } }))
            .Build();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = await Engine.RunAsync(plan, new RunOptions { Workers = 2 }).Within();

        var silent = result["silent"];
        Assert.Equal((TaskRunStatus.TimedOut, FailureKind.Stuck, 2), (silent.Status, silent.FailureKind, silent.Attempts));
        Assert.Equal("stuck: no progress for 2s (attempt 2): timeouts.worker_heartbeat", silent.Error);
        // Killed, not waited for: two attempts of a 60 s sleep end long before one would.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(50), clock.Elapsed.ToString());
        Assert.Equal(TaskRunStatus.Succeeded, result["chatty"].Status);
    }

    [Fact]
    public async Task AFailedProgram_KeepsAllItWrote_AsTheTasksOutput_WhileItsErrorEndsWithTheEndOfStderr()
    {
        var plan = new PlanBuilder("failed-output")
            .AddTask("loud", "process", t => t.With(new { command = "sh", args = new[] { "-c", "seq 1 5; seq 1 400 | sed 's/^/err /' >&2; exit 5" } }))
            .AddTask("after", "template", t => t.DependsOn("loud").With(new { text = "never" }))
            .Build();

        var result = await Engine.RunAsync(plan).Within();

        var loud = result["loud"];
        Assert.Equal(TaskRunStatus.Failed, loud.Status);
        Assert.StartsWith("'sh' exited with code 5: …", loud.Error, StringComparison.Ordinal);
        Assert.EndsWith("err 400", loud.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("err 1\n", loud.Error, StringComparison.Ordinal);
        var expected = "1\n2\n3\n4\n5\n[stderr]\n" + string.Join('\n', Enumerable.Range(1, 400).Select(i => $"err {i}"));
        Assert.Equal(expected, loud.PartialOutput!.ReplaceLineEndings("\n").TrimEnd('\n'));
        Assert.Null(loud.Result);
        // A failed task's output is there to read, not to pass on.
        Assert.Equal(TaskRunStatus.Skipped, result["after"].Status);
    }

    [Fact]
    public async Task Arguments_ReachTheProgramAsGiven_WithoutAShell_WhileShellTrueRunsALine()
    {
        var plan = new PlanBuilder("args")
            .AddTask("list", "process", t => t.With(new { command = "printf", args = new[] { "%s|", "a b", "c;d", "$HOME" } }))
            .AddTask("line", "process", t => t.With(new { command = "echo one; echo two | tr a-z A-Z", shell = true }))
            .AddTask("input", "process", t => t.With(new { command = "cat", stdin = "from stdin" }))
            .AddTask("env-and-cwd", "process", t => t.With(new { command = "sh", args = new[] { "-c", "echo $GREETING $(pwd)" }, env = new { GREETING = "hi" }, cwd = "/tmp" }))
            .Build();

        var result = await Engine.RunAsync(plan).Within();

        Assert.Equal(["a b|c;d|$HOME|", "one\nTWO", "from stdin", "hi /tmp"], result.Tasks.Select(t => t.Result!.Text));
    }

    [Fact]
    public async Task OutputLines_StreamAsEvents_WhileTheProcessRuns()
    {
        var plan = new PlanBuilder("stream")
            .AddTask("talk", "process", t => t.With(new { command = "sh", args = new[] { "-c", "echo first; echo problem >&2; echo second" } }))
            .Build();
        var run = Engine.Compile(plan).Start(new RunOptions { StreamEvents = true });

        var lines = await run.ReadEventsAsync().Where(e => e.Kind == RunEventKind.TaskOutput).Select(e => (e.TaskId, e.Message)).ToListAsync().AsTask().Within();

        Assert.Equal(3, lines.Count);
        Assert.All(lines, l => Assert.Equal("talk", l.TaskId));
        Assert.Equal(["first", "second"], lines.Select(l => l.Message).Where(m => !m!.StartsWith("stderr", StringComparison.Ordinal)));
        Assert.Contains(("talk", "stderr: problem"), lines);
    }

    [Fact]
    public async Task LargeOutput_IsBounded_KeepingTheTail()
    {
        var plan = new PlanBuilder("large")
            .AddTask("chatty", "process", t => t.With(new { command = "sh", args = new[] { "-c", "seq 1 1000000; echo last-line" }, max_output_bytes = 4096 }))
            .Build();

        var output = (await Engine.RunAsync(plan).Within()).Tasks[0].Result!.Text!;

        Assert.InRange(output.Length, 3000, 4096);
        Assert.EndsWith("999999\n1000000\nlast-line", output, StringComparison.Ordinal);
    }

    [Fact]
    public void BadParameters_AreCaughtAtValidation()
    {
        var errors = Assert.Throws<PlanValidationException>(() => Engine.Compile(new PlanBuilder("bad")
            .AddTask("a", "process", t => t.With(new { commnd = "ls" }))
            .AddTask("b", "process", t => t.With(new { command = "ls -l", shell = true, args = new[] { "x" } }))
            .Build())).Errors;

        Assert.Contains(errors, e => e.Message == "task 'a': with: unknown parameter 'commnd'. Did you mean 'command'?");
        Assert.Contains(errors, e => e.Message == "task 'a': with: the process worker needs 'command' (a program, or a shell line with shell: true)");
        Assert.Contains(errors, e => e.Message == "task 'b': with: args cannot be used with shell: true; put the whole line in 'command'");
    }

    [Fact]
    public async Task ATimeout_KillsTheWholeProcessTree()
    {
        var pids = Path.GetTempFileName();
        var plan = new PlanBuilder("timeout")
            .AddTask("tree", "process", t => t
                .With(new { command = $"sleep 300 & echo $! >> {pids}; sh -c 'sleep 300 & echo $! >> {pids}; wait' & wait", shell = true })
                .Timeout(TimeSpan.FromSeconds(1)))
            .Build();

        var result = await Engine.RunAsync(plan).Within();

        // Gone when the run completes, not some time later: the run waited for the worker to kill the tree.
        Assert.Equal(TaskRunStatus.TimedOut, result.Tasks[0].Status);
        AssertAllGone(pids, expected: 2);
    }

    [Fact]
    public async Task Cancelling_KillsDaemonsThatCalledSetsidOrDoubleForked_BeforeTheRunCompletes()
    {
        var pids = Path.GetTempFileName();
        var plan = new PlanBuilder("daemons")
            .AddTask("tree", "process", t => t.With(new
            {
                command = $"setsid sh -c 'echo $$ >> {pids}; exec sleep 300' </dev/null >/dev/null 2>&1 & " +
                          $"(sh -c 'sleep 300 </dev/null >/dev/null 2>&1 & echo $! >> {pids}' &); sleep 300",
                shell = true,
            }))
            .Build();
        var run = Engine.Compile(plan).Start();
        await WaitForAsync(() => File.ReadAllLines(pids).Length == 2);
        Assert.All(File.ReadAllLines(pids), pid => Assert.False(IsGone(int.Parse(pid, CultureInfo.InvariantCulture))));

        run.Cancel();

        Assert.Equal(TaskRunStatus.Cancelled, (await run.Completion.Within()).Tasks[0].Status);
        AssertAllGone(pids, expected: 2);
    }

    [Fact]
    public async Task WhatAProgramLeavesRunning_DoesNotHoldItsTaskOpen_AndIsLeftAlone()
    {
        // The background sleep inherits the program's stdout: waiting for the output to end would take 300 s. It may be
        // a server other tasks share, so it is not ended either.
        var pids = Path.GetTempFileName();
        var plan = new PlanBuilder("leftover")
            .AddTask("bg", "process", t => t.With(new { command = $"sleep 300 & echo $! >> {pids}; echo done", shell = true }))
            .Build();

        var result = await Engine.RunAsync(plan).Within();

        Assert.Equal((TaskRunStatus.Succeeded, "done"), (result.Tasks[0].Status, result.Tasks[0].Result!.Text));
        var leftover = int.Parse(File.ReadAllLines(pids).Single(), CultureInfo.InvariantCulture);
        Assert.False(IsGone(leftover));
        using var process = System.Diagnostics.Process.GetProcessById(leftover);
        process.Kill();
    }

    [Fact]
    public async Task ProcessesWhoseOwnerWasKilled_AreEndedWhenTheWorkerNextLoads()
    {
        // A stand-in for a host killed with kill -9: a process carrying the token of an owner that no longer exists.
        var pids = Path.GetTempFileName();
        var start = new System.Diagnostics.ProcessStartInfo("sh", ["-c", $"sleep 300 </dev/null >/dev/null 2>&1 & echo $! >> {pids}"]);
        start.Environment["PARALLELFLOW_PROCESS_TREE"] = "999999999.1.1";
        using (var orphanMaker = System.Diagnostics.Process.Start(start)!)
        {
            await orphanMaker.WaitForExitAsync().Within();
        }

        var orphan = int.Parse(File.ReadAllLines(pids).Single(), CultureInfo.InvariantCulture);
        Assert.False(IsGone(orphan));

        // Its owner's marker is still there, as a host killed with kill -9 leaves it.
        var owners = Path.Combine(Path.GetTempPath(), $"parallelflow-{Environment.UserName}", "owners");
        Directory.CreateDirectory(owners);
        File.WriteAllText(Path.Combine(owners, "999999999.1"), string.Empty);

        var catalog = BuiltInWorkers.CreateCatalog();
        ParallelFlow.Engine.Plugins.PluginHost.Register(catalog, new ProcessPlugin(), default);

        Assert.True(IsGone(orphan), "the orphan outlived the next load of the process worker");
        Assert.False(File.Exists(Path.Combine(owners, "999999999.1")), "the marker of a swept owner stays");
    }

    [Fact]
    public async Task Cancelling_KillsTheWholeProcessTree()
    {
        var pids = Path.GetTempFileName();
        var plan = new PlanBuilder("cancel")
            .AddTask("tree", "process", t => t.With(new { command = $"sleep 300 & echo $! >> {pids}; sleep 300 & echo $! >> {pids}; wait", shell = true }))
            .Build();
        var run = Engine.Compile(plan).Start();
        await WaitForAsync(() => File.ReadAllLines(pids).Length == 2);

        run.Cancel();

        Assert.Equal(TaskRunStatus.Cancelled, (await run.Completion.Within()).Tasks[0].Status);
        AssertAllGone(pids, expected: 2);
    }

    private static void AssertAllGone(string pidFile, int expected)
    {
        var pids = File.ReadAllLines(pidFile).Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(expected, pids.Count);
        Assert.All(pids, pid => Assert.True(IsGone(pid), $"process {pid} still runs"));
    }

    /// <summary>Gone or a zombie waiting to be reaped: either way it no longer runs.</summary>
    private static bool IsGone(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Waits for something the operating system does (a process starting or going), bounded.</summary>
    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), "the condition did not come true within 10 s");
    }
}
