using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Process;

/// <summary>A process task's parameters (<c>with</c>), as the worker read and checked them.</summary>
public sealed class ProcessSpec
{
    internal ProcessSpec(string command, IReadOnlyList<string> args, bool shell, string? workingDirectory, IReadOnlyDictionary<string, string> environment,
        string? stdin, IReadOnlySet<int> successCodes, int maxOutputBytes) =>
        (Command, Args, Shell, WorkingDirectory, Environment, Stdin, SuccessCodes, MaxOutputBytes) =
        (command, args, shell, workingDirectory, environment, stdin, successCodes, maxOutputBytes);

    /// <summary>The program, or the shell line when <see cref="Shell"/> is set.</summary>
    public string Command { get; }

    /// <summary>The program's arguments, passed as they are (no shell).</summary>
    public IReadOnlyList<string> Args { get; }

    /// <summary>Whether <see cref="Command"/> runs through <c>/bin/sh -c</c>.</summary>
    public bool Shell { get; }

    /// <summary>Where it runs; the engine's directory when null.</summary>
    public string? WorkingDirectory { get; }

    /// <summary>Variables added to its environment.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>Text written to its standard input.</summary>
    public string? Stdin { get; }

    /// <summary>Exit codes that count as success.</summary>
    public IReadOnlySet<int> SuccessCodes { get; }

    /// <summary>How much of each output stream is kept (the tail).</summary>
    public int MaxOutputBytes { get; }

    internal const int DefaultMaxOutputBytes = 1 << 20;

    /// <summary>Reads and checks a process task's parameters; every problem goes to the reader.</summary>
    internal static ProcessSpec Read(ParameterReader reader)
    {
        var command = reader.Text("command");
        if (command is { Length: 0 })
        {
            reader.Problem("command", "command must be a non-empty string");
        }
        else if (command is null && !reader.Has("command"))
        {
            reader.Problem(null, "the process worker needs 'command' (a program, or a shell line with shell: true)");
        }

        var args = reader.Has("args") ? ReadArgs(reader) : [];
        var shell = reader.Boolean("shell") ?? false;
        var cwd = reader.Text("cwd");
        var stdin = reader.Text("stdin");
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (reader.Element("env") is { } given)
        {
            if (given.ValueKind == JsonValueKind.Object && given.EnumerateObject().All(e => e.Value.ValueKind == JsonValueKind.String))
            {
                foreach (var e in given.EnumerateObject())
                {
                    env[e.Name] = e.Value.GetString()!;
                }
            }
            else
            {
                reader.Problem("env", "env must be an object of strings");
            }
        }

        IReadOnlySet<int> success = new HashSet<int> { 0 };
        if (reader.Element("success_codes") is { } codes)
        {
            if (codes.ValueKind == JsonValueKind.Array && codes.EnumerateArray().All(c => c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out _)))
            {
                success = new HashSet<int>(codes.EnumerateArray().Select(c => c.GetInt32()));
            }
            else
            {
                reader.Problem("success_codes", "success_codes must be a list of whole numbers");
            }
        }

        var maxOutput = reader.WholeNumber("max_output_bytes", min: 1024) ?? DefaultMaxOutputBytes;
        if (shell && args.Count > 0)
        {
            reader.Problem("args", "args cannot be used with shell: true; put the whole line in 'command'");
        }

        return new ProcessSpec(command ?? string.Empty, args, shell, cwd, env, stdin, success, maxOutput);
    }

    /// <summary>args must be a list: a single string is refused, so that "a b" is never split or taken as one program argument by mistake.</summary>
    private static IReadOnlyList<string> ReadArgs(ParameterReader reader)
    {
        if (reader.Element("args") is { ValueKind: JsonValueKind.Array } list && list.EnumerateArray().All(a => a.ValueKind == JsonValueKind.String))
        {
            return [.. list.EnumerateArray().Select(a => a.GetString()!)];
        }

        reader.Problem("args", "args must be a list of strings");
        return [];
    }
}
