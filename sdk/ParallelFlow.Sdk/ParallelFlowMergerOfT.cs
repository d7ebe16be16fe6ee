using System.Text.Json;

namespace ParallelFlow.Sdk;

/// <summary>
/// A merger whose parameters (the section task's <c>merging</c> settings) are bound once into a typed value:
/// <see cref="Bind"/> reads them with a <see cref="ParameterReader"/> when the plan is validated and once per section
/// task when it runs. Validation and merging read the parameters through the same code, so they cannot disagree.
/// </summary>
/// <typeparam name="TParameters">The parameters as the merger uses them.</typeparam>
public abstract class ParallelFlowMerger<TParameters> : ParallelFlowMerger
{
    /// <summary>Reads the parameters. Report problems through the reader; return a value even when there are some
    /// (it is not used then).</summary>
    /// <param name="reader">The reader over the merge parameters.</param>
    /// <returns>The bound parameters.</returns>
    protected abstract TParameters Bind(ParameterReader reader);

    /// <summary>Merges the sections with the bound parameters. The exception contract is <see cref="ParallelFlowMerger"/>'s.</summary>
    /// <param name="request">The sections, in order.</param>
    /// <param name="parameters">The parameters, bound by <see cref="Bind"/>.</param>
    /// <param name="cancellationToken">Cancelled when the task times out or the run is cancelled.</param>
    /// <returns>The merged output and every conflict found.</returns>
    protected abstract ValueTask<MergeResult> MergeAsync(MergeRequest request, TParameters parameters, CancellationToken cancellationToken);

    /// <summary>Merges sections as they come, with the bound parameters. The default collects them all and calls
    /// <see cref="MergeAsync(MergeRequest, TParameters, CancellationToken)"/>; override to merge as they arrive.</summary>
    /// <param name="request">The task; its <see cref="MergeRequest.Sections"/> is empty.</param>
    /// <param name="parameters">The parameters, bound by <see cref="Bind"/>.</param>
    /// <param name="sections">The sections' outputs, in order, as they finish.</param>
    /// <param name="cancellationToken">Cancelled when the task times out or the run is cancelled.</param>
    /// <returns>The merged output and every conflict found.</returns>
    protected virtual async ValueTask<MergeResult> MergeStreamAsync(MergeRequest request, TParameters parameters, IAsyncEnumerable<SectionOutput> sections, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(sections);
        var all = new List<SectionOutput>();
        await foreach (var section in sections.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            all.Add(section);
        }

        return await MergeAsync(new MergeRequest { TaskId = request.TaskId, With = request.With, Parameters = parameters, Sections = all, Services = request.Services }, parameters, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public sealed override IReadOnlyList<ParameterProblem> ValidateParameters(JsonElement parameters) => Bound.Problems(parameters, Bind);

    /// <inheritdoc/>
    public sealed override object? BindParameters(JsonElement parameters) => Bound.Bind(this, parameters, Bind);

    /// <inheritdoc/>
    public sealed override ValueTask<MergeResult> MergeAsync(MergeRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return MergeAsync(request, ParametersOf(request), cancellationToken);
    }

    /// <inheritdoc/>
    public sealed override ValueTask<MergeResult> MergeStreamAsync(MergeRequest request, IAsyncEnumerable<SectionOutput> sections, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return MergeStreamAsync(request, ParametersOf(request), sections, cancellationToken);
    }

    private TParameters ParametersOf(MergeRequest request) =>
        Bound.TryGet<TParameters>(request.Parameters, this, out var bound) ? bound : Bound.From(request.With, Bind);
}
