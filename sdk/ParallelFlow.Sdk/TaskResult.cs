using System.Text.Json;

namespace ParallelFlow.Sdk;

/// <summary>What a task produced: text and/or JSON output, artifacts, and the resources it used.</summary>
/// <remarks>Immutable; safe to share between dependents.</remarks>
public sealed class TaskResult
{
    /// <summary>A result with no output.</summary>
    public static TaskResult Empty { get; } = new();

    /// <summary>The text output.</summary>
    /// <value><see langword="null"/> when the task produced none.</value>
    public string? Text { get; init; }

    /// <summary>The structured output.</summary>
    /// <value><see langword="null"/> when the task produced none.</value>
    public JsonElement? Json { get; init; }

    /// <summary>Files or other artifacts the task produced.</summary>
    /// <value>Empty by default.</value>
    public IReadOnlyList<TaskArtifact> Artifacts { get; init; } = [];

    /// <summary>Tokens and cost the task used.</summary>
    /// <value><see cref="TaskUsage.None"/> by default.</value>
    public TaskUsage Usage { get; init; }

    /// <summary>
    /// How the result was reached, for the run report and not for dependent tasks: a vote's candidates, scores,
    /// winner and rationale. Null for ordinary tasks.
    /// </summary>
    public JsonElement? Record { get; init; }

    /// <summary>The model that produced the result, for a model call: its name as the model's provider knows it. Traces
    /// report it as <c>gen_ai.response.model</c>.</summary>
    public string? Model { get; init; }

    /// <summary>Creates a result with text output.</summary>
    /// <param name="text">The output.</param>
    /// <returns>The result.</returns>
    public static TaskResult FromText(string text) => new() { Text = text };

    /// <summary>Creates a result with structured output.</summary>
    /// <param name="json">The output; cloned so it outlives its document.</param>
    /// <returns>The result.</returns>
    public static TaskResult FromJson(JsonElement json) => new() { Json = json.Clone() };

    /// <summary>The output as text: <see cref="Text"/> if present, else the raw JSON, else an empty string.</summary>
    /// <returns>The output as text.</returns>
    public override string ToString() => Text ?? Json?.GetRawText() ?? string.Empty;
}
