using System.Globalization;
using System.Text.Json;
using ParallelFlow.Engine.Workers;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Voting;

/// <summary>
/// The built-in <c>vote</c> worker: runs every candidate of the task in parallel (each a worker with its own
/// settings and timeout), leaves out those that fail, checks the quorum, has a scorer judge the rest, and returns the
/// winner's output with the whole decision kept in <see cref="TaskResult.Record"/>.
/// </summary>
internal sealed class VoteWorker(WorkerCatalog catalog, TimeProvider timeProvider) : ParallelFlowWorker
{
    public const string Name = "vote";

    public override IReadOnlyList<ParameterProblem> ValidateParameters(JsonElement with)
    {
        var problems = new List<ParameterProblem>();
        VoteSpec.Parse(with, catalog, problems);
        return problems;
    }

    /// <summary>Reads the vote once, when the plan is compiled, with the scorer's own parameters bound too; every
    /// attempt runs with it.</summary>
    public override object? BindParameters(JsonElement with) => Bind(with, throwOnProblems: false);

    private BoundVote? Bind(JsonElement with, bool throwOnProblems)
    {
        var problems = new List<ParameterProblem>();
        var spec = VoteSpec.Parse(with, catalog, problems);
        if (spec is null || problems.Count > 0 || !catalog.TryGetScorer(spec.Scorer, out var scorer))
        {
            return throwOnProblems ? throw new FatalTaskException(string.Join("; ", problems.Select(p => p.Message))) : null;
        }

        return new BoundVote(spec, scorer, scorer.BindParameters(spec.Scoring));
    }

    /// <summary>A vote as read: its spec, its scorer and the scorer's bound parameters.</summary>
    private sealed record BoundVote(VoteSpec Spec, ParallelFlowScorer Scorer, object? ScorerParameters);

    public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (spec, scorer, scorerParameters) = request.Parameters as BoundVote ?? Bind(request.With, throwOnProblems: true)!;

        var outcomes = new CandidateOutcome[spec.Candidates.Count];
        var decidedEarly = false;
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        using (var gate = new SemaphoreSlim(spec.MaxParallel))
        {
            var pending = spec.Candidates
                .Select((candidate, index) => RunCandidateAsync(request, spec, candidate, index, outcomes, gate, stop))
                .ToList();
            while (pending.Count > 0)
            {
                var finished = await Task.WhenAny(pending).ConfigureAwait(false);
                pending.Remove(finished);
                if (spec.EarlyDecision && !decidedEarly && pending.Count > 0 && !stop.IsCancellationRequested
                    && scorer.IsDecided(Scoring(request, spec, scorerParameters, outcomes), pending.Count))
                {
                    decidedEarly = true;
                    request.Progress.Report($"decided early: {pending.Count} candidate(s) can no longer change the outcome and are stopped");
                    await stop.CancelAsync().ConfigureAwait(false);
                }
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var succeeded = outcomes.Count(o => o.Status == CandidateStatus.Succeeded);
        if (succeeded < spec.Quorum)
        {
            throw new FatalTaskException(
                $"quorum not met: {succeeded} of {outcomes.Length} candidates succeeded, the quorum is {spec.Quorum} ({string.Join("; ", outcomes.Where(o => o.Status != CandidateStatus.Succeeded).Select(o => $"{o.Name}: {o.Error}"))})");
        }

        var scoringRequest = Scoring(request, spec, scorerParameters, outcomes);
        var card = await scorer.ScoreAsync(scoringRequest, cancellationToken).ConfigureAwait(false)
            ?? throw new FatalTaskException($"scorer '{spec.Scorer}' returned no score card");
        var winner = PickWinner(card, outcomes, spec.Scorer);
        var output = card.Synthesis ?? winner.Result!;
        var usage = outcomes.Where(o => o.Result is not null).Aggregate(card.Synthesis?.Usage ?? default, (sum, o) => Add(sum, o.Result!.Usage));
        request.Progress.Report($"winner: {winner.Name} ({spec.Scorer}): {card.Rationale}");
        return new TaskResult
        {
            Text = output.Text,
            Json = output.Json,
            Artifacts = output.Artifacts,
            Usage = usage,
            Record = VoteRecord.Write(spec, outcomes, card, winner.Name, decidedEarly),
        };
    }

    private static TaskUsage Add(TaskUsage a, TaskUsage b) => new(a.InputTokens + b.InputTokens, a.OutputTokens + b.OutputTokens, a.Cost + b.Cost);

    private ScoringRequest Scoring(TaskRequest request, VoteSpec spec, object? scorerParameters, CandidateOutcome[] outcomes) => new()
    {
        TaskId = request.TaskId,
        Description = request.Description,
        With = spec.Scoring,
        Parameters = scorerParameters,
        Candidates = [.. outcomes.Where(o => o?.Status == CandidateStatus.Succeeded).Select(o => new Candidate(o.Name, o.Result!, o.Duration) { Worker = o.Worker, Parameters = spec.Candidates.First(c => c.Name == o.Name).With })],
        FailedCandidates = outcomes.Where(o => o is not null && o.Status != CandidateStatus.Succeeded).ToDictionary(o => o.Name, o => o.Error ?? o.Status.ToString()),
        Services = new CatalogTaskServices(catalog, request),
    };

    private static CandidateOutcome PickWinner(ScoreCard card, CandidateOutcome[] outcomes, string scorerName)
    {
        var eligible = outcomes.Where(o => o.Status == CandidateStatus.Succeeded && card.Scores.ContainsKey(o.Name)).ToList();
        if (card.Winner is { } named)
        {
            return eligible.Find(o => o.Name == named)
                ?? throw new FatalTaskException($"scorer '{scorerName}' named '{named}' the winner, which is not a successful, scored candidate");
        }

        if (eligible.Count == 0)
        {
            throw new FatalTaskException($"scorer '{scorerName}' scored none of the successful candidates");
        }

        // The highest total wins; a tie goes to the candidate listed first.
        return eligible.Aggregate((best, next) => card.Scores[next.Name].Total > card.Scores[best.Name].Total ? next : best);
    }

    private async Task RunCandidateAsync(TaskRequest vote, VoteSpec spec, VoteCandidate candidate, int index, CandidateOutcome[] outcomes, SemaphoreSlim gate, CancellationTokenSource stop)
    {
        var outcome = new CandidateOutcome(candidate.Name, candidate.Worker);
        try
        {
            await gate.WaitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            outcomes[index] = outcome with { Status = CandidateStatus.Cancelled, Error = "not started: the vote was decided or cancelled" };
            return;
        }

        var started = timeProvider.GetTimestamp();
        var seconds = candidate.TimeoutSeconds ?? spec.CandidateTimeoutSeconds;
        using var timeout = seconds is { } s ? new CancellationTokenSource(TimeSpan.FromSeconds(s), timeProvider) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, timeout.Token);
        // A span per candidate, under the vote's attempt: a model call among them follows the GenAI conventions.
        catalog.TryGetWorker(candidate.Worker, out var worker);
        var span = Diagnostics.EngineTelemetry.StartAttempt($"{vote.TaskId}/{candidate.Name}", candidate.Worker, worker?.ModelOperation, vote.Attempt, candidate.With);
        try
        {
            var request = new TaskRequest
            {
                TaskId = $"{vote.TaskId}/{candidate.Name}",
                WorkerName = candidate.Worker,
                Description = candidate.Description ?? vote.Description,
                With = candidate.With,
                DependencyOutputs = vote.DependencyOutputs,
                Attempt = vote.Attempt,
                Logger = vote.Logger,
                Progress = new PrefixedProgress(vote.Progress, candidate.Name),
                CancellationToken = linked.Token,
            };
            var result = await CancellationGrace.AwaitAsync<TaskResult, int>(worker!.ExecuteAsync(request, linked.Token).AsTask(), catalog.CancellationGracePeriod, timeProvider, null, 0, linked.Token).ConfigureAwait(false);
            outcome = outcome with { Status = CandidateStatus.Succeeded, Result = result ?? TaskResult.Empty };
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !stop.IsCancellationRequested)
        {
            outcome = outcome with { Status = CandidateStatus.TimedOut, Error = $"timed out after {seconds!.Value.ToString("0.###", CultureInfo.InvariantCulture)}s" };
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            outcome = outcome with { Status = CandidateStatus.Cancelled, Error = vote.CancellationToken.IsCancellationRequested ? "cancelled" : "stopped: the vote was decided early" };
        }
#pragma warning disable CA1031 // A failing candidate is recorded and left out; it never fails the vote by itself.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            outcome = outcome with { Status = CandidateStatus.Failed, Error = ex is TransientTaskException or FatalTaskException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}" };
        }
        finally
        {
            gate.Release();
        }

        Diagnostics.EngineTelemetry.EndAttempt(span, outcome.Result, outcome.Status switch
        {
            CandidateStatus.Succeeded => null,
            CandidateStatus.TimedOut => "timeout",
            CandidateStatus.Cancelled => "cancelled",
            _ => "failed",
        }, catalog.Secrets.RedactOrNull(outcome.Error));
        outcome = outcome with { Duration = timeProvider.GetElapsedTime(started) };
        outcomes[index] = outcome;
        vote.Progress.Report(outcome.Status == CandidateStatus.Succeeded
            ? $"candidate {candidate.Name}: succeeded in {outcome.Duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}s"
            : $"candidate {candidate.Name}: {outcome.Status.ToString().ToLowerInvariant()}: {outcome.Error}");
    }

    private sealed class PrefixedProgress(IProgress<string> inner, string prefix) : IProgress<string>
    {
        public void Report(string value) => inner.Report($"[{prefix}] {value}");
    }
}

internal enum CandidateStatus
{
    Pending,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
}

internal sealed record CandidateOutcome(string Name, string Worker)
{
    public CandidateStatus Status { get; init; }

    public TaskResult? Result { get; init; }

    public string? Error { get; init; }

    public TimeSpan Duration { get; init; }
}
