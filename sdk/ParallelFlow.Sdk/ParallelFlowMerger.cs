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
}
