using System.Text.Json;
using System.Text.RegularExpressions;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Workers;

/// <summary>The <c>template</c> worker: fills <c>{{task-id}}</c> placeholders in <c>with.text</c> with the outputs of
/// the task's hard dependencies. A placeholder that names no dependency is a plan error, caught at validation.
/// <c>{{inputs.NAME}}</c> is the run's input. Both are filled in one pass, so a value that itself holds <c>{{…}}</c> is
/// kept as it is.</summary>
internal sealed partial class TemplateWorker : ParallelFlowWorker<string>
{
    public const string Name = "template";

    /// <summary>The parameters are the text.</summary>
    protected override string Bind(ParameterReader reader) => reader.Text("text", required: true) ?? string.Empty;

    protected override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, string text, CancellationToken cancellationToken)
    {
        // One pass over the text: what a dependency's output or an input's value holds is never read as a placeholder.
        var filled = PlaceholderPattern().Replace(text, match =>
        {
            var name = match.Groups[1].Value;
            if (name.StartsWith("inputs.", StringComparison.Ordinal) && request.Inputs.TryGetValue(name["inputs.".Length..], out var input))
            {
                return input.ValueKind == JsonValueKind.String ? input.GetString()! : input.GetRawText();
            }

            return request.DependencyOutputs.TryGetValue(name, out var output)
                ? output.ToString()
                : throw new FatalTaskException($"{{{{{name}}}}} names no dependency of task '{request.TaskId}'");
        });
        return ValueTask.FromResult(TaskResult.FromText(filled));
    }

    internal static IEnumerable<string> Placeholders(JsonElement parameters) =>
        parameters.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
            ? PlaceholderPattern().Matches(text.GetString()!).Select(m => m.Groups[1].Value)
                .Where(name => !name.StartsWith("inputs.", StringComparison.Ordinal)).Distinct()
            : [];

    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9][A-Za-z0-9_.:\-]*)\s*\}\}")]
    private static partial Regex PlaceholderPattern();

    /// <inheritdoc/>
    public override bool IsDeterministic => true;
}
