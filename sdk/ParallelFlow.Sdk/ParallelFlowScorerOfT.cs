using System.Text.Json;

namespace ParallelFlow.Sdk;

/// <summary>
/// A scorer whose parameters (the vote's <c>scoring</c>) are bound once into a typed value: <see cref="Bind"/> reads
/// them with a <see cref="ParameterReader"/> when the plan is validated (its problems are the plan's errors, with line
/// and column) and once per vote when it runs; every call of that vote gets the bound value. Validation and scoring
/// read the parameters through the same code, so they cannot disagree.
/// </summary>
/// <typeparam name="TParameters">The parameters as the scorer uses them.</typeparam>
public abstract class ParallelFlowScorer<TParameters> : ParallelFlowScorer
{
    /// <summary>Reads the parameters. Report problems through the reader; return a value even when there are some
    /// (it is not used then).</summary>
    /// <param name="reader">The reader over the vote's <c>scoring</c> parameters.</param>
    /// <returns>The bound parameters.</returns>
    protected abstract TParameters Bind(ParameterReader reader);

    /// <summary>Scores the candidates of one vote with the bound parameters. The exception contract is <see cref="ParallelFlowScorer"/>'s.</summary>
    /// <param name="request">The vote's task and its successful candidates.</param>
    /// <param name="parameters">The parameters, bound by <see cref="Bind"/>.</param>
    /// <param name="cancellationToken">Cancelled when the vote times out or the run is cancelled.</param>
    /// <returns>A score for each candidate.</returns>
    protected abstract ValueTask<ScoreCard> ScoreAsync(ScoringRequest request, TParameters parameters, CancellationToken cancellationToken);

    /// <summary>Whether the outcome is settled early, with the bound parameters (see <see cref="ParallelFlowScorer.IsDecided(ScoringRequest, int)"/>).
    /// The default never decides early.</summary>
    /// <param name="request">The candidates finished so far.</param>
    /// <param name="parameters">The parameters, bound by <see cref="Bind"/>.</param>
    /// <param name="pendingCandidates">How many are still running.</param>
    /// <returns>True to decide now.</returns>
    protected virtual bool IsDecided(ScoringRequest request, TParameters parameters, int pendingCandidates) => false;

    /// <inheritdoc/>
    public sealed override IReadOnlyList<ParameterProblem> ValidateParameters(JsonElement parameters) => Bound.Problems(parameters, Bind);

    /// <inheritdoc/>
    public sealed override object? BindParameters(JsonElement parameters) => Bound.Bind(this, parameters, Bind);

    /// <inheritdoc/>
    public sealed override ValueTask<ScoreCard> ScoreAsync(ScoringRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return ScoreAsync(request, ParametersOf(request), cancellationToken);
    }

    /// <inheritdoc/>
    public sealed override bool IsDecided(ScoringRequest request, int pendingCandidates)
    {
        ArgumentNullException.ThrowIfNull(request);
        return IsDecided(request, ParametersOf(request), pendingCandidates);
    }

    private TParameters ParametersOf(ScoringRequest request) =>
        Bound.TryGet<TParameters>(request.Parameters, this, out var bound) ? bound : Bound.From(request.With, Bind);
}
