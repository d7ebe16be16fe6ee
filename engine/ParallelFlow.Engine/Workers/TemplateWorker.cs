using System.Text.Json;
using System.Text.RegularExpressions;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Workers;

/// <summary>The <c>template</c> worker: fills <c>{{task-id}}</c> placeholders in <c>with.text</c> with the outputs of
/// the task's hard dependencies. A placeholder that names no dependency is a plan error, caught at validation.</summary>
internal sealed partial class TemplateWorker : ParallelFlowWorker
{
    public const string Name = "template";

    private static readonly string[] Keys = ["text"];

    public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
    {
        var text = request.GetString("text") ?? throw new FatalTaskException("with.text is missing");
        var filled = PlaceholderPattern().Replace(text, match =>
            request.DependencyOutputs.TryGetValue(match.Groups[1].Value, out var output)
                ? output.ToString()
                : throw new FatalTaskException($"{{{{{match.Groups[1].Value}}}}} names no dependency of task '{request.TaskId}'"));
        return ValueTask.FromResult(TaskResult.FromText(filled));
    }

    public override IReadOnlyList<ParameterProblem> ValidateParameters(JsonElement parameters)
    {
        var problems = new List<ParameterProblem>();
        if (!parameters.TryGetProperty("text", out var text))
        {
            problems.Add(new(null, "the template worker needs 'text'"));
        }
        else if (text.ValueKind != JsonValueKind.String)
        {
            problems.Add(new("text", "text must be a string"));
        }

        problems.AddRange(parameters.EnumerateObject()
            .Where(p => Array.IndexOf(Keys, p.Name) < 0)
            .Select(p => new ParameterProblem(p.Name, ParameterMessages.Unknown(p.Name, Keys))));
        return problems;
    }

    internal static IEnumerable<string> Placeholders(JsonElement parameters) =>
        parameters.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
            ? PlaceholderPattern().Matches(text.GetString()!).Select(m => m.Groups[1].Value).Distinct()
            : [];

    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9][A-Za-z0-9_.:\-]*)\s*\}\}")]
    private static partial Regex PlaceholderPattern();

    /// <inheritdoc/>
    public override bool IsDeterministic => true;
}
