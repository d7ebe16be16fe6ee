using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Sample;

/// <summary>The <c>greet</c> worker: <c>with: { "name": "..." }</c> gives "&lt;greeting&gt;, &lt;name&gt;!", followed by
/// the outputs of its hard dependencies, one per line. Its parameters are bound once, by the SDK.</summary>
public sealed class GreetWorker(string greeting) : ParallelFlowWorker<string>
{
    /// <summary>The one parameter, <c>name</c>: read the same way when the plan is validated and when it runs.</summary>
    /// <param name="reader">The task's <c>with</c>.</param>
    /// <returns>The name.</returns>
    protected override string Bind(ParameterReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return reader.Text("name", required: true) ?? string.Empty;
    }

    /// <inheritdoc/>
    protected override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, string parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var lines = new[] { $"{greeting}, {parameters}!" }.Concat(request.DependencyOutputs.Values.Select(o => o.ToString()));
        return ValueTask.FromResult(TaskResult.FromText(string.Join('\n', lines)));
    }
}
