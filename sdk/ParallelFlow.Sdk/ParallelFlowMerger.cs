namespace ParallelFlow.Sdk;

/// <summary>Combines the results of the sections of a task into one result.</summary>
/// <remarks>
/// <para>One instance may merge several section tasks at once: implementations must be thread-safe.</para>
/// <para><b>Exception contract.</b> Report conflicts in <see cref="MergeResult.Conflicts"/> rather than throwing,
/// so that nothing is silently lost. Throw <see cref="TransientTaskException"/> to have the merge retried,
/// <see cref="FatalTaskException"/> (or any other exception) to fail the section task with that message, and
/// <see cref="OperationCanceledException"/> once <c>cancellationToken</c> is cancelled.</para>
/// </remarks>
public abstract class ParallelFlowMerger
{
    /// <summary>Merges the section results of one task.</summary>
    /// <param name="request">The task and its section results.</param>
    /// <param name="cancellationToken">Cancelled when the task times out or the run is cancelled.</param>
    /// <returns>The merged result and any conflicts.</returns>
    public abstract ValueTask<MergeResult> MergeAsync(MergeRequest request, CancellationToken cancellationToken);

    /// <summary>Checks the merger's parameters (a section task's <c>merging</c>) when the plan is validated.</summary>
    /// <param name="parameters">The parameters.</param>
    /// <returns>Every problem found, each with the key it is about; empty when they are fine.</returns>
    public virtual IReadOnlyList<ParameterProblem> ValidateParameters(System.Text.Json.JsonElement parameters) => [];

    /// <summary>Binds valid parameters into the value the merger runs with, once per section task; the engine passes
    /// it in <see cref="MergeRequest.Parameters"/>. The default binds nothing (<see cref="ParallelFlowMerger{TParameters}"/> binds).</summary>
    /// <param name="parameters">Parameters that passed <see cref="ValidateParameters"/>.</param>
    /// <returns>The bound value (opaque to everyone but this instance), or null.</returns>
    public virtual object? BindParameters(System.Text.Json.JsonElement parameters) => null;

    /// <summary>
    /// Merges sections as they arrive, so a section task never holds more sections than its bounded capacity.
    /// The default collects them and calls <see cref="MergeAsync(MergeRequest, CancellationToken)"/>; a merger whose
    /// result does not need them all at once (one that writes to a file) overrides this to keep memory flat.
    /// </summary>
    /// <param name="request">The task, the parameters, and <see cref="MergeRequest.Sections"/> empty.</param>
    /// <param name="sections">The successful sections, in the order the decomposer produced them.</param>
    /// <param name="cancellationToken">Cancelled when the task times out or the run is cancelled.</param>
    public virtual async ValueTask<MergeResult> MergeStreamAsync(MergeRequest request, IAsyncEnumerable<SectionOutput> sections, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(sections);
        var all = new List<SectionOutput>();
        await foreach (var section in sections.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            all.Add(section);
        }

        return await MergeAsync(new MergeRequest { TaskId = request.TaskId, With = request.With, Parameters = request.Parameters, Sections = all, Services = request.Services }, cancellationToken).ConfigureAwait(false);
    }
}
