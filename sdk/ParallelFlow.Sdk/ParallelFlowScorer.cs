using System.Text.Json;

namespace ParallelFlow.Sdk;

/// <summary>Judges the candidates of a vote: gives each successful candidate a score.</summary>
/// <remarks>
/// <para>One instance may score several votes at once: implementations must be thread-safe.</para>
/// <para><b>Exception contract.</b> Return a <see cref="ScoreCard"/> with a score for every candidate it judged;
/// candidates left out are treated as not eligible to win. Throw <see cref="TransientTaskException"/> to have the
/// scoring retried, <see cref="FatalTaskException"/> (or any other exception) to fail the vote task with that message,
/// and <see cref="OperationCanceledException"/> once <c>cancellationToken</c> is cancelled.</para>
/// </remarks>
public abstract class ParallelFlowScorer
{
    /// <summary>Scores the candidates of one vote.</summary>
    /// <param name="request">The vote's task and its successful candidates.</param>
    /// <param name="cancellationToken">Cancelled when the vote times out or the run is cancelled.</param>
    /// <returns>A score for each candidate.</returns>
    public abstract ValueTask<ScoreCard> ScoreAsync(ScoringRequest request, CancellationToken cancellationToken);

    /// <summary>Checks the scorer's parameters (the vote's <c>scoring</c>) when the plan is validated, before anything runs.</summary>
    /// <param name="parameters">The parameters.</param>
    /// <returns>Every problem found, each with the key it is about; empty when they are fine.</returns>
    public virtual IReadOnlyList<ParameterProblem> ValidateParameters(JsonElement parameters) => [];

    /// <summary>Binds valid parameters into the value the scorer runs with, once per vote; the engine passes it in
    /// <see cref="ScoringRequest.Parameters"/>. The default binds nothing (<see cref="ParallelFlowScorer{TParameters}"/> binds).</summary>
    /// <param name="parameters">Parameters that passed <see cref="ValidateParameters"/>.</param>
    /// <returns>The bound value (opaque to everyone but this instance), or null.</returns>
    public virtual object? BindParameters(JsonElement parameters) => null;

    /// <summary>
    /// Whether the outcome is already settled while <paramref name="pendingCandidates"/> candidates still run, so
    /// the vote can stop them and decide now (an early decision). The default never decides early.
    /// </summary>
    /// <param name="request">The candidates finished so far.</param>
    /// <param name="pendingCandidates">How many are still running.</param>
    public virtual bool IsDecided(ScoringRequest request, int pendingCandidates) => false;
}
