using System.Text.Json;
using ParallelFlow.Sdk;

namespace MyPlugin;

/// <summary>Does one task. Return a result to succeed; throw <see cref="TransientTaskException"/> to be retried,
/// <see cref="FatalTaskException"/> to fail at once; honour the cancellation token.</summary>
public sealed class MyPluginWorker : ParallelFlowWorker
{
    /// <inheritdoc/>
    public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var input = request.GetString("input") ?? throw new FatalTaskException("with.input is missing");
        request.Progress.Report($"working on {input.Length} characters");
        return ValueTask.FromResult(TaskResult.FromText(input.ToUpperInvariant()));
    }

    /// <inheritdoc/>
    public override IReadOnlyList<ParameterProblem> ValidateParameters(JsonElement parameters) =>
        parameters.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.String
            ? []
            : [new ParameterProblem(null, "my-worker needs 'input' (a string)")];
}
