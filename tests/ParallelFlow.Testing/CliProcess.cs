using System.Diagnostics;
using System.Text;

namespace ParallelFlow.Testing;

/// <summary>Runs a built executable of the repository (the parallelflow CLI beside the test binaries, or a tool under
/// artifacts/tools) as a separate process, from the repository root, the way a user runs it, with its output piped
/// (so it prints plain lines). Each command gets a journal of its own; a process left running is killed with its tree
/// on dispose.</summary>
public sealed class CliProcess : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _error = new();
    private readonly TaskCompletionSource<string> _awaitedLine = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _awaited;
    private string? _journal;

    private readonly string _command;

    private CliProcess(string[] args, string executable = "parallelflow", string? folder = null)
    {
        _command = executable + " " + string.Join(' ', args);
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(folder ?? AppContext.BaseDirectory, executable + ".dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (_out)
            {
                _out.AppendLine(e.Data);
            }

            if (_awaited is not null && e.Data.Contains(_awaited, StringComparison.Ordinal))
            {
                _awaitedLine.TrySetResult(e.Data);
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_error)
                {
                    _error.AppendLine(e.Data);
                }
            }
        };
    }

    public static string RepositoryRoot => Testing.RepositoryRoot.Path;

    public string Out
    {
        get
        {
            lock (_out)
            {
                return _out.ToString();
            }
        }
    }

    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    public static Task<(int ExitCode, string Out, string Error)> RunAsync(params string[] args) => RunAsync(null, args);

    public static async Task<(int ExitCode, string Out, string Error)> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var process = Start(args, environment: environment);
        var exitCode = await process.WaitForExitAsync();
        return (exitCode, process.Out, process.Error);
    }

    /// <summary>Runs a command that builds and tests other projects: its limit is minutes, since on a loaded 2-core
    /// machine a restore and build alone can take one.</summary>
    public static async Task<(int ExitCode, string Out, string Error)> RunLongAsync(TimeSpan limit, params string[] args)
    {
        using var process = Start(args);
        var exitCode = await process.WaitForExitAsync(limit);
        return (exitCode, process.Out, process.Error);
    }

    /// <summary>Starts <c>parallelflow-model-server</c>, the offline model behind an OpenAI-compatible API.</summary>
    public static CliProcess StartModelServer(string[] args, string? waitForLine = null, IReadOnlyDictionary<string, string>? environment = null) =>
        Start(new CliProcess(args, "parallelflow-model-server", Path.Combine(RepositoryRoot, "artifacts/tools/ParallelFlow.ModelServer")) { _awaited = waitForLine }, environment);

    /// <summary>Starts another program of the repository that is built beside the test binaries (an example, say).</summary>
    public static CliProcess StartProgram(string executable, string[] args, IReadOnlyDictionary<string, string>? environment = null) =>
        Start(new CliProcess(args, executable), environment);

    public static CliProcess Start(string[] args, string? waitForLine = null, IReadOnlyDictionary<string, string>? environment = null) =>
        Start(new CliProcess(args) { _awaited = waitForLine }, environment);

    private static CliProcess Start(CliProcess process, IReadOnlyDictionary<string, string>? environment)
    {

        // Each command gets a journal of its own, so that tests never share a run journal or its result cache.
        process._journal = Path.Combine(Path.GetTempPath(), $"parallelflow-test-{Guid.NewGuid():N}.db");
        process._process.StartInfo.Environment["PARALLELFLOW_JOURNAL"] = process._journal;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            process._process.StartInfo.Environment[name] = value;
        }

        process._process.Start();
        process._process.BeginOutputReadLine();
        process._process.BeginErrorReadLine();
        return process;
    }

    public async Task<string> LineAsync()
    {
        try
        {
            return await _awaitedLine.Task.WaitAsync(Limit);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"`{_command}` did not print a line with '{_awaited}' within {Limit.TotalSeconds:0}s. Its output so far:\n{Tail(Out)}\nIts errors:\n{Tail(Error)}");
        }
    }

    /// <summary>kill -9: the process and its children end at once, without any chance to clean up.</summary>
    public void KillHard() => _process.Kill(entireProcessTree: true);

    public void SendInterrupt() => Signal("-INT");

    /// <summary>SIGTERM, as service managers and <c>timeout</c> stop a program.</summary>
    public void SendTerminate() => Signal("-TERM");

    /// <summary>kill -9 of the command alone: its children are not touched, as when the command crashes.</summary>
    public void KillCommandOnly() => Signal("-KILL");

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", [signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Waits for the command to exit; past the limit, fails saying which command it waited for, how long,
    /// and the last of what it printed.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? limit = null)
    {
        var waited = limit ?? Limit;
        using var timeout = new CancellationTokenSource(waited);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"`{_command}` did not exit within {waited.TotalSeconds:0}s. Its last output:\n{Tail(Out)}\nIts last errors:\n{Tail(Error)}");
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    private static string Tail(string text) => text.Length <= 2_000 ? text : "…" + text[^2_000..];

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            if (_journal is not null && File.Exists(_journal + suffix))
            {
                File.Delete(_journal + suffix);
            }
        }
    }

}
