using System.Text.Json;

namespace ParallelFlow.Sdk;

/// <summary>
/// A worker whose parameters are bound once into a typed value: <see cref="Bind"/> reads them with a
/// <see cref="ParameterReader"/> when the plan is validated (its problems are the plan's errors, with line and column)
/// and again, once per task, when the plan is compiled; every attempt gets the bound value. Validation and execution
/// read the parameters through the same code, so they cannot disagree.
/// </summary>
/// <typeparam name="TParameters">The parameters as the worker uses them (a record, say).</typeparam>
/// <example>
/// <code>
/// public sealed class GreetWorker : ParallelFlowWorker&lt;GreetWorker.Parameters&gt;
/// {
///     public sealed record Parameters(string Name, int Times);
///
///     protected override Parameters Bind(ParameterReader reader) =>
///         new(reader.Text("name", required: true) ?? "", reader.WholeNumber("times", min: 1, max: 10) ?? 1);
///
///     protected override ValueTask&lt;TaskResult&gt; ExecuteAsync(TaskRequest request, Parameters parameters, CancellationToken cancellationToken) =>
///         ValueTask.FromResult(TaskResult.FromText(string.Join(" ", Enumerable.Repeat($"Hello, {parameters.Name}!", parameters.Times))));
/// }
/// </code>
/// </example>
public abstract class ParallelFlowWorker<TParameters> : ParallelFlowWorker
{
    /// <summary>Reads the parameters. Report problems through the reader; return a value even when there are some
    /// (it is not used then).</summary>
    /// <param name="reader">The reader over the task's <c>with</c>.</param>
    /// <returns>The bound parameters.</returns>
    protected abstract TParameters Bind(ParameterReader reader);

    /// <summary>Runs one attempt with the bound parameters. The exception contract is <see cref="ParallelFlowWorker"/>'s.</summary>
    /// <param name="request">The task.</param>
    /// <param name="parameters">Its parameters, bound by <see cref="Bind"/>.</param>
    /// <param name="cancellationToken">Cancelled when the attempt times out or the run stops.</param>
    /// <returns>The task's result.</returns>
    protected abstract ValueTask<TaskResult> ExecuteAsync(TaskRequest request, TParameters parameters, CancellationToken cancellationToken);

    /// <inheritdoc/>
    public sealed override IReadOnlyList<ParameterProblem> ValidateParameters(JsonElement parameters) => Bound.Problems(parameters, Bind);

    /// <inheritdoc/>
    public sealed override object? BindParameters(JsonElement parameters) => Bound.Bind(this, parameters, Bind);

    /// <inheritdoc/>
    public sealed override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Bound.TryGet<TParameters>(request.Parameters, this, out var bound))
        {
            return ExecuteAsync(request, bound, cancellationToken);
        }

        // Called without the engine's compile step (a vote's candidate, a test): bound here, and refused when wrong.
        return ExecuteAsync(request, Bound.From(request.With, Bind), cancellationToken);
    }
}
