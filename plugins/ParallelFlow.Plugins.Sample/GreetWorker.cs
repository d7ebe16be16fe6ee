using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Sample;

/// <summary>The <c>greet</c> worker: <c>with: { "name": "..." }</c> gives "&lt;greeting&gt;, &lt;name&gt;!", followed by
/// the outputs of its hard dependencies, one per line.</summary>
public sealed class GreetWorker(string greeting) : ParallelFlowWorker
{
    /// <inheritdoc/>
    public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var name = request.GetString("name") ?? throw new FatalTaskException("with.name is missing");
        var lines = new[] { $"{greeting}, {name}!" }.Concat(request.DependencyOutputs.Values.Select(o => o.ToString()));
        return ValueTask.FromResult(TaskResult.FromText(string.Join('\n', lines)));
    }

    /// <inheritdoc/>
    public override IReadOnlyList<ParameterProblem> ValidateParameters(JsonElement parameters)
    {
        var problems = parameters.EnumerateObject()
            .Where(p => p.Name != "name")
            .Select(p => new ParameterProblem(p.Name, $"unknown parameter '{p.Name}'; the greet worker takes only 'name'"))
            .ToList();
        if (!parameters.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
        {
            problems.Add(new ParameterProblem(null, "the greet worker needs 'name' (a string)"));
        }

        return problems;
    }
}
