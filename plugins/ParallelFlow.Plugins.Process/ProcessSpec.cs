using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Process;

/// <summary>A process task's parameters (<c>with</c>), read and checked.</summary>
internal sealed record ProcessSpec(
    string Command,
    IReadOnlyList<string> Args,
    bool Shell,
    string? WorkingDirectory,
    IReadOnlyDictionary<string, string> Environment,
    string? Stdin,
    IReadOnlySet<int> SuccessCodes,
    int MaxOutputBytes)
{
    public const int DefaultMaxOutputBytes = 1 << 20;

    private static readonly string[] Keys = ["command", "args", "shell", "cwd", "env", "stdin", "success_codes", "max_output_bytes"];

    public static (ProcessSpec? Spec, List<ParameterProblem> Problems) Read(JsonElement with)
    {
        var problems = new List<ParameterProblem>();
        string? command = null;
        var args = new List<string>();
        var shell = false;
        string? cwd = null;
        string? stdin = null;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var success = new HashSet<int> { 0 };
        var maxOutput = DefaultMaxOutputBytes;
        foreach (var p in with.EnumerateObject())
        {
            switch (p.Name)
            {
                case "command" when p.Value.ValueKind == JsonValueKind.String && p.Value.GetString()!.Length > 0:
                    command = p.Value.GetString();
                    break;
                case "args" when p.Value.ValueKind == JsonValueKind.Array && p.Value.EnumerateArray().All(a => a.ValueKind == JsonValueKind.String):
                    args.AddRange(p.Value.EnumerateArray().Select(a => a.GetString()!));
                    break;
                case "shell" when p.Value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    shell = p.Value.GetBoolean();
                    break;
                case "cwd" when p.Value.ValueKind == JsonValueKind.String:
                    cwd = p.Value.GetString();
                    break;
                case "stdin" when p.Value.ValueKind == JsonValueKind.String:
                    stdin = p.Value.GetString();
                    break;
                case "env" when p.Value.ValueKind == JsonValueKind.Object && p.Value.EnumerateObject().All(e => e.Value.ValueKind == JsonValueKind.String):
                    foreach (var e in p.Value.EnumerateObject())
                    {
                        env[e.Name] = e.Value.GetString()!;
                    }

                    break;
                case "success_codes" when p.Value.ValueKind == JsonValueKind.Array && p.Value.EnumerateArray().All(c => c.TryGetInt32(out _)):
                    success = [.. p.Value.EnumerateArray().Select(c => c.GetInt32())];
                    break;
                case "max_output_bytes" when p.Value.TryGetInt32(out var bytes) && bytes >= 1024:
                    maxOutput = bytes;
                    break;
                case var name when Array.IndexOf(Keys, name) >= 0:
                    problems.Add(new(name, Expected(name)));
                    break;
                default:
                    problems.Add(new(p.Name, $"unknown parameter '{p.Name}'. Known parameters: {string.Join(", ", Keys)}"));
                    break;
            }
        }

        if (command is null && !problems.Any(p => p.Key == "command"))
        {
            problems.Add(new(null, "the process worker needs 'command' (a program, or a shell line with shell: true)"));
        }

        if (shell && args.Count > 0)
        {
            problems.Add(new("args", "args cannot be used with shell: true; put the whole line in 'command'"));
        }

        return problems.Count > 0 || command is null
            ? (null, problems)
            : (new ProcessSpec(command, args, shell, cwd, env, stdin, success, maxOutput), problems);
    }

    private static string Expected(string key) => key switch
    {
        "command" => "command must be a non-empty string",
        "args" => "args must be a list of strings",
        "shell" => "shell must be true or false",
        "env" => "env must be an object of strings",
        "success_codes" => "success_codes must be a list of whole numbers",
        "max_output_bytes" => "max_output_bytes must be a whole number of at least 1024",
        _ => $"{key} must be a string",
    };
}
