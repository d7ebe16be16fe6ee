using System.Diagnostics;

namespace ParallelFlow.Cli.Tests;

/// <summary>The repository's sources copied into a folder of a test's own, and the .NET commands run on that copy, so a
/// test that packs or publishes never touches the build the other tests run on.</summary>
internal static class SourceCopy
{
    /// <summary>Copies the files git knows of (tracked, and new ones not ignored): no bin, obj or artifacts.</summary>
    public static async Task CopyAsync(string from, string to, TimeSpan limit)
    {
        var listed = await RunAsync(from, limit, "git", "ls-files", "--cached", "--others", "--exclude-standard");
        foreach (var file in listed.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var target = Path.Combine(to, file);
            if (File.Exists(Path.Combine(from, file)))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(Path.Combine(from, file), target);
            }
        }
    }

    /// <summary>Runs a program to its end within the limit (killed, with its children, past it) and asserts it exited
    /// with 0; returns its output and error output.</summary>
    public static async Task<string> RunAsync(string folder, TimeSpan limit, string program, params string[] args)
    {
        var (exitCode, text) = await TryRunAsync(folder, limit, program, args);
        Assert.True(exitCode == 0, $"'{program} {string.Join(' ', args)}' in {folder} exited with {exitCode}:\n{text}");
        return text;
    }

    /// <summary>Runs a program to its end within the limit; its exit code and its output and error output.</summary>
    public static async Task<(int ExitCode, string Output)> TryRunAsync(string folder, TimeSpan limit, string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // Nested builds must not inherit the test run's MSBuild settings.
        start.Environment.Remove("MSBuildSDKsPath");
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{program} {string.Join(' ', args)}' in {folder} did not finish within {limit.TotalMinutes} minutes");
        }

        return (process.ExitCode, await output + await error);
    }
}
