using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Voting;

/// <summary>
/// A criterion measured by a command run on each candidate's output: a test (<c>parse: "pass"</c>, 1 when it exits
/// 0), a benchmark (<c>"duration"</c>, its wall time; or <c>"number"</c>, the last number it prints) or a checker
/// (<c>"exit_code"</c>). <c>{output}</c> in the arguments is a file holding the candidate's output and
/// <c>{candidate}</c> its name; both are also in the environment as PARALLELFLOW_OUTPUT_FILE and PARALLELFLOW_CANDIDATE.
/// </summary>
internal sealed partial record CommandMetric(string Program, IReadOnlyList<string> Args, string Output, string? WorkingDirectory, double TimeoutSeconds)
{
    private static readonly string[] Parses = ["pass", "number", "exit_code", "duration"];

    public static CommandMetric? Read(ParameterReader command)
    {
        var program = command.Text("program", required: true);
        var args = ReadArgs(command);
        var parse = command.OneOf("parse", Parses) ?? "pass";
        var cwd = command.Text("cwd");
        var timeout = command.Number("timeout_seconds", min: 0.001, max: 86_400) ?? 60;
        return program is null ? null : new CommandMetric(program, args, parse, cwd, timeout);
    }

    /// <summary>args must be a list: a single string is refused, so that "a b" is never taken as one argument by mistake.</summary>
    private static IReadOnlyList<string> ReadArgs(ParameterReader command)
    {
        if (command.Element("args") is not { } given)
        {
            return [];
        }

        if (given.ValueKind == JsonValueKind.Array && given.EnumerateArray().All(a => a.ValueKind == JsonValueKind.String))
        {
            return [.. given.EnumerateArray().Select(a => a.GetString()!)];
        }

        command.Problem("args", "args must be a list of strings");
        return [];
    }

    public async Task<double?> MeasureAsync(Candidate candidate, List<string> notes, string criterion, CancellationToken cancellationToken)
    {
        var file = Path.Combine(Path.GetTempPath(), $"parallelflow-candidate-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(file, candidate.Result.ToString(), cancellationToken).ConfigureAwait(false);
        try
        {
            var start = new ProcessStartInfo(Program)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = WorkingDirectory ?? Environment.CurrentDirectory,
            };
            foreach (var arg in Args)
            {
                start.ArgumentList.Add(arg.Replace("{output}", file, StringComparison.Ordinal).Replace("{candidate}", candidate.Name, StringComparison.Ordinal));
            }

            start.Environment["PARALLELFLOW_OUTPUT_FILE"] = file;
            start.Environment["PARALLELFLOW_CANDIDATE"] = candidate.Name;
            var watch = Stopwatch.StartNew();
            using var process = Process.Start(start) ?? throw new FatalTaskException($"criterion '{criterion}': '{Program}' did not start");
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(TimeoutSeconds));
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                cancellationToken.ThrowIfCancellationRequested();
                notes.Add($"{criterion}: the command for {candidate.Name} timed out after {Criterion.Format(TimeoutSeconds)}s");
                return Output == "pass" ? 0 : null;
            }

            var elapsed = watch.Elapsed.TotalSeconds;
            var output = await stdout.ConfigureAwait(false);
            _ = await stderr.ConfigureAwait(false);
            switch (Output)
            {
                case "pass":
                    if (process.ExitCode != 0)
                    {
                        notes.Add($"{criterion}: {candidate.Name} failed the check (exit code {process.ExitCode})");
                    }

                    return process.ExitCode == 0 ? 1 : 0;
                case "exit_code":
                    return process.ExitCode;
                case "duration":
                    return elapsed;
                default:
                    var numbers = NumberPattern().Matches(output);
                    if (numbers.Count == 0)
                    {
                        notes.Add($"{criterion}: the command printed no number for {candidate.Name}");
                        return null;
                    }

                    return double.Parse(numbers[^1].Value, CultureInfo.InvariantCulture);
            }
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new FatalTaskException($"criterion '{criterion}': cannot start '{Program}': {ex.Message}", ex);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [GeneratedRegex(@"-?\d+(\.\d+)?([eE][-+]?\d+)?")]
    internal static partial Regex NumberPattern();
}
