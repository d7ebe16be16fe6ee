using Microsoft.Extensions.Logging;
using ParallelFlow.Sdk;

namespace MyPlugin;

/// <summary>Does one task. Return a result to succeed; throw <see cref="TransientTaskException"/> to be retried,
/// <see cref="FatalTaskException"/> to fail at once; honour the cancellation token.</summary>
public sealed partial class MyPluginTypeWorker : ParallelFlowWorker<MyPluginTypeWorker.Parameters>
{
    /// <summary>The task's parameters, bound once from its <c>with</c>.</summary>
    /// <param name="Input">The text to work on.</param>
    public sealed record Parameters(string Input);

    /// <summary>Reads the parameters: the same code checks a plan's <c>with</c> (a typo is an error with its line and
    /// column) and binds it when the plan is compiled.</summary>
    /// <param name="reader">The task's <c>with</c>.</param>
    /// <returns>The parameters.</returns>
    protected override Parameters Bind(ParameterReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return new Parameters(reader.Text("input", required: true) ?? string.Empty);
    }

    /// <inheritdoc/>
    protected override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, Parameters parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(parameters);
        request.Progress.Report($"working on {parameters.Input.Length} characters");
        Log.Working(request.Logger, request.TaskId, parameters.Input.Length);
        return ValueTask.FromResult(TaskResult.FromText(parameters.Input.ToUpperInvariant()));
    }

    /// <summary>The worker's log lines (shown by <c>parallelflow run --verbose</c> and in a host's logs).</summary>
    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "{TaskId}: working on {Length} characters")]
        public static partial void Working(ILogger logger, string taskId, int length);
    }
}
