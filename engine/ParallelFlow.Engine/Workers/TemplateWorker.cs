using System.Text.Json;
using System.Text.RegularExpressions;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Workers;

/// <summary>The <c>template</c> worker: fills <c>{{task-id}}</c> placeholders in <c>with.text</c> with the outputs of
/// the task's hard dependencies. A placeholder that names no dependency is a plan error, caught at validation.
/// <c>{{inputs.NAME}}</c> is the run's input, put in by the engine before the worker sees the text.</summary>
internal sealed partial class TemplateWorker : ParallelFlowWorker<string>
{
    public const string Name = "template";

    /// <summary>The parameters are the text.</summary>
    protected override string Bind(ParameterReader reader) => reader.Text("text", required: true) ?? string.Empty;

    protected override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, string text, CancellationToken cancellationToken)
    {
        var filled = PlaceholderPattern().Replace(text, match =>
            request.DependencyOutputs.TryGetValue(match.Groups[1].Value, out var output)
                ? output.ToString()
                : throw new FatalTaskException($"{{{{{match.Groups[1].Value}}}}} names no dependency of task '{request.TaskId}'"));
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
