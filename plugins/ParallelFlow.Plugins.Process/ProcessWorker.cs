using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Process;

/// <summary>
/// The <c>process</c> worker: runs a program with an argument list — no shell unless the task says
/// <c>shell: true</c> — in a working directory, with extra environment variables and text on stdin. Standard output and
/// error are captured line by line, bounded (the tail is kept), and each line is reported as progress (a
/// <c>task_output</c> event; stderr lines start with "stderr: ") and logged as it arrives. The exit code
/// decides the outcome: one of <c>success_codes</c> (default 0) succeeds with stdout as the result; any other fails the
/// task, naming the code and the end of stderr, with what was read of stdout and stderr as the failed task's output. On timeout or cancellation the whole process tree is killed, daemons
/// it detached included (see <see cref="ProcessTree"/>); a task that ends normally does not wait for the processes its
/// program left running, nor end them.
/// </summary>
/// <remarks>Parameters: <c>command</c>, <c>args</c>, <c>shell</c>, <c>cwd</c>, <c>env</c>, <c>stdin</c>,
/// <c>success_codes</c>, <c>max_output_bytes</c> (per stream; default 1 MiB). With a memory limit
/// (<c>resources.max_memory_mb</c>) the program and its children are held to it (see <see cref="MemoryLimit"/>), and a
/// program that fails for want of memory fails the task with <c>failure_kind: memory</c>.</remarks>
public sealed partial class ProcessWorker : ParallelFlowWorker<ProcessSpec>
{
    /// <summary>The worker's name in plans.</summary>
    public const string Name = "process";

    /// <inheritdoc/>
    protected override ProcessSpec Bind(ParameterReader reader) => ProcessSpec.Read(reader);

    /// <summary>Each line the program writes is progress: a program silent for <c>timeouts.worker_heartbeat</c> is stuck.</summary>
    public override bool ReportsProgress => true;

    /// <inheritdoc/>
    protected override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, ProcessSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(spec);

        var tree = ProcessTree.NewToken();
        var start = StartInfo(spec, tree);
        if (request.MaxMemoryBytes is { } limit)
        {
            MemoryLimit.Apply(start, limit);
        }

        using var process = new System.Diagnostics.Process { StartInfo = start, EnableRaisingEvents = true };
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => exited.TrySetResult();
        var stdout = new BoundedTail(spec.MaxOutputBytes);
        var stderr = new BoundedTail(spec.MaxOutputBytes);
        var logger = request.Logger;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                stdout.Add(e.Data);
                request.Progress.Report(e.Data);
                LogLine(logger, request.TaskId, "stdout", e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                stderr.Add(e.Data);
                request.Progress.Report("stderr: " + e.Data);
                LogLine(logger, request.TaskId, "stderr", e.Data);
            }
        };

        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new FatalTaskException($"cannot start '{spec.Command}': {ex.Message}", ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await WriteStdinAsync(process, spec.Stdin).ConfigureAwait(false);

        ProcessTree.Started(tree, process);
        try
        {
            await exited.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Timeout or cancellation: the program and everything it started go, daemons it detached included — off
            // the thread that cancelled, which may be cancelling many tasks at once.
            await Task.Run(() => ProcessTree.Kill(tree, process), CancellationToken.None).ConfigureAwait(false);
            await DrainAsync(process, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            throw;
        }
        finally
        {
            ProcessTree.Ended(tree);
        }

        // The program has exited. What it left running in the background is left alone (a build server other tasks
        // share, a daemon started on purpose), but the task does not wait for it to close the output it inherited.
        if (!await DrainAsync(process, TimeSpan.FromSeconds(2)).ConfigureAwait(false))
        {
            LogOutputHeld(logger, request.TaskId);
        }

        var code = process.ExitCode;
        var output = stdout.ToString();
        if (!spec.SuccessCodes.Contains(code))
        {
            // The message ends with the end of stderr; the task's output keeps all that was read of both streams, so
            // `show RUN TASK` and the report have the whole of it.
            var errors = stderr.ToString();
            var tail = Last(errors, 1000);
            var partial = errors.Length == 0 ? output : $"{output}{(output.Length == 0 || output.EndsWith('\n') ? "" : "\n")}[stderr]\n{errors}";
            if (request.MaxMemoryBytes is { } held && MemoryLimit.WentOver(errors))
            {
                throw new MemoryLimitException(
                    $"'{spec.Command}' went over its memory limit of {MemoryLimit.Megabytes(held)} MB (resources.max_memory_mb) and exited with code {code}: {tail}", held)
                {
                    Output = partial,
                };
            }

            throw new FatalTaskException($"'{spec.Command}' exited with code {code}{(tail.Length > 0 ? $": {tail}" : "")}")
            {
                Output = partial,
            };
        }

        if (stdout.DroppedBytes > 0)
        {
            var note = $"the first {stdout.DroppedBytes} bytes of stdout were dropped; the last {spec.MaxOutputBytes} are kept";
            LogLine(logger, request.TaskId, "note", note);
        }

        return TaskResult.FromText(output);
    }

    /// <summary>Waits for the program's output to be read to its end; bounded, since a process it left running may
    /// hold the pipes open. Returns whether the output ended.</summary>
    private static async Task<bool> DrainAsync(System.Diagnostics.Process process, TimeSpan limit)
    {
        using var drained = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(drained.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            // Output still held open elsewhere: what was read so far stands.
            return false;
        }
    }

    private static ProcessStartInfo StartInfo(ProcessSpec spec, string tree)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = spec.WorkingDirectory is null ? Environment.CurrentDirectory : Path.GetFullPath(spec.WorkingDirectory),
        };
        if (spec.Shell)
        {
            start.FileName = OperatingSystem.IsWindows() ? "cmd.exe" : "/bin/sh";
            start.ArgumentList.Add(OperatingSystem.IsWindows() ? "/c" : "-c");
            start.ArgumentList.Add(spec.Command);
        }
        else
        {
            start.FileName = spec.Command;
            foreach (var arg in spec.Args)
            {
                start.ArgumentList.Add(arg);
            }
        }

        foreach (var (key, value) in spec.Environment)
        {
            start.Environment[key] = value;
        }

        start.Environment[ProcessTree.Variable] = ProcessTree.ValueFor(tree);
        return start;
    }

    private static async Task WriteStdinAsync(System.Diagnostics.Process process, string? stdin)
    {
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin).ConfigureAwait(false);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The program exited without reading its input; its exit code tells what happened.
        }
    }

    private static string Last(string text, int characters) => text.Length <= characters ? text : "…" + text[^characters..];

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "{TaskId}: the program exited, but a process it left running still holds its output; the task ends without waiting for it")]
    private static partial void LogOutputHeld(ILogger logger, string taskId);

    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "{TaskId} {Stream}: {Line}")]
    private static partial void LogLine(ILogger logger, string taskId, string stream, string line);
}
