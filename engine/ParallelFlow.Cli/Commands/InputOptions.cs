using System.CommandLine;
using System.Text.Json;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>--input NAME=VALUE</c> (repeatable) and <c>--inputs FILE.json</c>: the values of a plan's inputs for
/// one run, checked against what the plan declares before anything runs.</summary>
internal sealed class InputOptions
{
    private readonly Option<string[]> _input = new("--input", "-i")
    {
        Description = "A value for one of the plan's inputs, NAME=VALUE (repeatable). For a string input the value is taken as it is; a number, true/false, an object or a list is read as JSON.",
        Arity = ArgumentArity.ZeroOrMore,
    };

    private readonly Option<string?> _file = new("--inputs")
    {
        Description = "A JSON file of input values, { \"NAME\": VALUE, ... }; --input wins over it.",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(_input);
        command.Options.Add(_file);
    }

    /// <summary>Every input's value for the run (supplied, else the default), or null, having printed every problem.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Read(ParseResult parseResult, PlanDefinition plan, string planPath, CliConsole console,
        ParallelFlow.Engine.Diagnostics.SecretRedactor? secrets = null)
    {
        var supplied = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        // Where each value came from, so that a wrong one is reported against its inputs file.
        var suppliedFrom = new Dictionary<string, string>(StringComparer.Ordinal);
        var problems = new List<string>();
        if (parseResult.GetValue(_file) is { } file)
        {
            ReadFile(file, supplied, suppliedFrom, problems);
        }

        foreach (var entry in parseResult.GetValue(_input) ?? [])
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                problems.Add($"{planPath}: error PF0014: --input {entry}: write NAME=VALUE (for example --input topic=\"release notes\")");
                continue;
            }

            var name = entry[..equals];
            var text = entry[(equals + 1)..];
            suppliedFrom.Remove(name);
            if (!plan.Inputs.TryGetValue(name, out var input))
            {
                // Reported with the plan's inputs and the closest name below.
                supplied[name] = JsonSerializer.SerializeToElement(text);
                continue;
            }

            var (value, problem) = PlanInputs.Parse(text, input.Type);
            if (value is { } parsed)
            {
                supplied[name] = parsed;
            }
            else
            {
                problems.Add($"{planPath}: error PF0014: --input {name}: input '{name}' {problem}");
            }
        }

        foreach (var problem in problems)
        {
            console.Error.WriteLine(problem);
        }

        try
        {
            var values = PlanInputs.Resolve(plan, supplied, secrets, suppliedFrom);
            return problems.Count == 0 ? values : Fail(problems.Count, planPath, console);
        }
        catch (PlanValidationException ex)
        {
            foreach (var error in ex.Errors)
            {
                console.Error.WriteLine(error);
            }

            return Fail(problems.Count + ex.Errors.Count, planPath, console);
        }
    }

    private static IReadOnlyDictionary<string, JsonElement>? Fail(int count, string planPath, CliConsole console)
    {
        console.Error.WriteLine($"{planPath}: {count} error{(count == 1 ? "" : "s")} in the inputs; nothing was run.");
        return null;
    }

    private static void ReadFile(string file, Dictionary<string, JsonElement> supplied, Dictionary<string, string> suppliedFrom, List<string> problems)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                problems.Add($"{file}: error PF0014: an inputs file holds one JSON object, {{ \"NAME\": VALUE, ... }}");
                return;
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                supplied[property.Name] = property.Value.Clone();
                suppliedFrom[property.Name] = file;
            }
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $"({line + 1},{(ex.BytePositionInLine ?? 0) + 1})" : string.Empty;
            problems.Add($"{file}{where}: error PF0001: not valid JSON: {ex.Message.Split(" Path:", 2)[0]}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problems.Add($"{file}: error PF0001: cannot read the inputs file: {(ex is FileNotFoundException or DirectoryNotFoundException ? "file not found" : ex.Message)}");
        }
    }

    /// <summary>Lines describing a plan's inputs, for <c>plan</c> and <c>validate</c>.</summary>
    public static IEnumerable<string> Describe(PlanDefinition plan) => plan.Inputs.Values.Select(i => "  " + PlanInputs.Describe(i));
}
