using System.Diagnostics;
using ParallelFlow.Engine.Diagnostics;
using ParallelFlow.Sdk;
using Polly;
using Polly.Timeout;

namespace ParallelFlow.Engine.Execution;

/// <summary>Running one task inside an execution block: its attempts, timeout and retries. Never throws: every
/// outcome is written to the task's slot in the run's arrays before the task is handed back to the scheduler.</summary>
public sealed partial class FlowRun
{
    private async Task ExecuteAsync(int task)
    {
        var group = _plan.Group[task];
        while (task >= 0)
        {
            await RunTaskAsync(task).ConfigureAwait(false);
            task = _commit is null ? TakeStep(new StepMessage(StepKind.Finished, task), group) : FinishJournaled(task, group);
        }
    }

    /// <summary>Takes a scheduling step from a worker's thread and does what it leaves to be done outside the gate.</summary>
    /// <returns>The task the caller should run next itself, or −1.</returns>
    private int TakeStep(StepMessage message, int callerGroup)
    {
        int next;
        bool cancel;
        lock (_gate)
        {
            next = Step(message, callerGroup);
            cancel = _cancelAfterStep;
            _cancelAfterStep = false;
        }

        if (cancel)
        {
            CancelWorkers();
        }

        PublishOutcome();
        return next;
    }

    /// <summary>
    /// Ends a task of a journaled run. Its worker is free at once, but the task counts as finished — its event, the
    /// finished count, a fail-fast stop, the run's completion — only once its entry is durable (group commit, see
    /// <see cref="GroupCommit"/>). A succeeded task's dependents may start before that, as in a database's early lock
    /// release: entries are written in the order they came, one batch after another, so an entry of a dependent is
    /// never durable before its inputs' entries; a crash loses only what was in flight, and a resumed run never holds
    /// a result without the results it was computed from. The writing runs on a thread-pool thread of its own, never in
    /// an execution block, whose slots belong to the tasks the scheduler counts.
    /// </summary>
    private int FinishJournaled(int task, int group)
    {
        var entry = new JournalEntry(RunId, _plan.Tasks[task].Id, _attempts[task], _context.TimeProvider.GetUtcNow(), TaskResultOf(task));
        int next;
        bool cancel, writer;
        lock (_gate)
        {
            // Queued under the gate, before the step releases any dependent: a dependent's entry always comes after
            // this one, and the writer cannot make this task durable (which takes the gate) before it is released.
            writer = _commit!.AddFinished(entry, task);
            next = Step(new StepMessage(StepKind.Released, task), group);
            cancel = _cancelAfterStep;
            _cancelAfterStep = false;
        }

        if (cancel)
        {
            CancelWorkers();
        }

        PublishOutcome();
        if (writer)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static run => run.WriteJournal(), this, preferLocal: false);
        }

        return next;
    }

    /// <summary>The journal's writer: writes batches until none is left, then makes their tasks count as finished. A
    /// batch that fails waits for the next (see <see cref="GroupCommit"/>); one that fails twice gives the journal up,
    /// and its tasks count as finished unwritten. Whatever happens, the writer role is given back, so a run never waits
    /// for ever on its journal.</summary>
    private void WriteJournal()
    {
        var commit = _commit!;
        try
        {
            while (commit.TryTake(out var entries, out var finished, out var lastChance))
            {
                if (!commit.GivenUp)
                {
                    try
                    {
                        _journal!.Record(entries);
                    }
#pragma warning disable CA1031 // The journal is a record of the run; its failure is logged, and the run goes on.
                    catch (Exception ex)
#pragma warning restore CA1031
                    {
                        LogJournalFailure(entries, ex);
                        if (!lastChance)
                        {
                            commit.Failed(entries, finished);
                            continue;
                        }

                        commit.GiveUp();
                    }
                }

                TakeStep(new StepMessage(StepKind.Durable, Tasks: finished), -1);
            }
        }
#pragma warning disable CA1031 // Nothing below throws by design (a step never does); should it, the run must not wait on a writer that is gone.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            commit.Abandon();
            LogJournalFailure([], ex);
        }
    }

    private void LogJournalFailure(List<JournalEntry> entries, Exception exception)
    {
        try
        {
            var tasks = string.Join(", ", entries.Where(e => e.Finished is not null).Select(e => e.TaskId).Distinct(StringComparer.Ordinal).Take(5));
            _context.Log.JournalFailed(RunId, tasks, _context.Secrets.Redact(exception.Message));
        }
#pragma warning disable CA1031 // A host's logger failing must not stop the writer.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private async ValueTask RunTaskAsync(int task)
    {
        _startTimestamps[task] = _context.TimeProvider.GetTimestamp();
        if (_cancellation.IsCancellationRequested)
        {
            _status[task] = TaskRunStatus.Cancelled;
            _failureKinds[task] = FailureKind.Cancelled;
            _errors[task] = "cancelled before it started";
            _endTimestamps[task] = _context.TimeProvider.GetTimestamp();
            return;
        }

        using var activity = EngineMetrics.StartTaskActivity(_plan.Tasks[task], RunId);
        Emit(RunEventKind.TaskStarted, task, _slotOfTask?[task] ?? 0, attempt: 1);
        var policy = _plan.Policies[task];
        try
        {
            if (_cache is not null && CacheKeyOf(task) is { } key)
            {
                _cacheKeys![task] = key;
                // Masked before the cache stores it, so a secret never reaches the journal's cache either.
                var (result, cached) = await SingleFlight.For(_cache).RunAsync(
                    key, _cacheTimeToLive, RunId, _plan.Tasks[task].Id, async () => Masked(await ExecuteOnceAsync(task, policy).ConfigureAwait(false)), _cancellation.Token).ConfigureAwait(false);
                // A hit stored before the variable was declared secret is masked too.
                _results[task] = Masked(result);
                _status[task] = cached ? TaskRunStatus.Cached : TaskRunStatus.Succeeded;
            }
            else
            {
                _results[task] = Masked(await ExecuteOnceAsync(task, policy).ConfigureAwait(false));
                _status[task] = TaskRunStatus.Succeeded;
            }
        }
#pragma warning disable CA1031 // Whatever a worker throws becomes the task's status; nothing may fault the block.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var kind = ExceptionClassifier.Classify(ex, _cancellation.Token);
            _failureKinds[task] = kind;
            (_status[task], var error) = kind switch
            {
                FailureKind.Timeout => (TaskRunStatus.TimedOut, $"timed out after {policy?.Timeout?.TotalSeconds:0.###}s (attempt {_attempts[task]}){AbandonedNote(task)}"),
                FailureKind.Cancelled => (TaskRunStatus.Cancelled, (_failedFast ? "cancelled: the run failed fast" : _wallExhausted ? $"cancelled while running: the run's wall-time budget ({_budgetSettings!.WallSeconds:0.###}s) ran out" : "cancelled while running") + AbandonedNote(task)),
                _ => (TaskRunStatus.Failed, Describe(ex)),
            };
            _errors[task] = _context.Secrets.RedactOrNull(error);
            activity?.SetStatus(ActivityStatusCode.Error, _errors[task]);
        }

        _endTimestamps[task] = _context.TimeProvider.GetTimestamp();
    }

    /// <summary>The result with secret values masked (see <see cref="Diagnostics.SecretRedactor"/>): what dependents,
    /// the cache, the journal, events and the report all get.</summary>
    private TaskResult Masked(TaskResult result) => _context.Secrets.IsEmpty ? result : _context.Secrets.Redact(result)!;

    private ValueTask<TaskResult> ExecuteOnceAsync(int task, TaskPolicy? policy) =>
        policy is null ? InvokeAsync(task, _cancellation.Token) : InvokeWithPolicyAsync(task, policy);

    /// <summary>The task's cache key, or null when the task may not use the cache.</summary>
    private TaskCacheKey? CacheKeyOf(int task)
    {
        var definition = _plan.Tasks[task];
        var worker = _plan.Workers[task];
        if (!(definition.Cache ?? worker.IsDeterministic))
        {
            return null;
        }

        var assembly = worker.GetType().Assembly;
        var version = Plugins.AssemblyVersions.Of(assembly);
        var inputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var predecessor in _plan.Graph.HardPredecessorsOf(task))
        {
            inputs[_plan.Tasks[predecessor].Id] = TaskCacheKey.HashOf(_results[predecessor]);
        }

        return new TaskCacheKey(definition.Worker, $"{assembly.GetName().Name} {version}", TaskCacheKey.Canonical(definition.With), definition.Description, inputs);
    }

    private async ValueTask<TaskResult> InvokeWithPolicyAsync(int task, TaskPolicy policy)
    {
        var context = ResilienceContextPool.Shared.Get(_cancellation.Token);
        context.Properties.Set(TaskPolicy.RunKey, this);
        context.Properties.Set(TaskPolicy.TaskKey, task);
        try
        {
            return await policy.Pipeline.ExecuteAsync(
                static (ctx, state) => state.Run.InvokeAsync(state.Task, ctx.CancellationToken),
                context,
                (Run: this, Task: task)).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>One attempt. A worker that ignores its token is abandoned when the token fires, so a timeout is hard
    /// and cancelling a run does not wait for misbehaving workers.</summary>
    private ValueTask<TaskResult> InvokeAsync(int task, CancellationToken cancellationToken)
    {
        var attempt = ++_attempts[task];
        var definition = _plan.Tasks[task];
        _commit?.Add(new JournalEntry(RunId, definition.Id, attempt, _context.TimeProvider.GetUtcNow(), null));

        var request = new TaskRequest
        {
            TaskId = definition.Id,
            WorkerName = definition.Worker,
            Description = definition.Description,
            With = definition.With,
            DependencyOutputs = _plan.Graph.HardPredecessorStart[task] == _plan.Graph.HardPredecessorStart[task + 1]
                ? TaskRequest.NoDependencies
                : new DependencyOutputs(_plan, _results, task),
            Attempt = attempt,
            Logger = _context.TaskLogger,
            Progress = _events is null ? DiscardProgress.Instance : new TaskProgress(this, task, attempt),
            CancellationToken = cancellationToken,
        };

        ValueTask<TaskResult> pending;
        try
        {
            pending = _plan.Workers[task].ExecuteAsync(request, cancellationToken);
        }
#pragma warning disable CA1031 // A synchronous throw is the same failure as an asynchronous one.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ValueTask.FromException<TaskResult>(ex);
        }

        if (pending.IsCompleted || !cancellationToken.CanBeCanceled)
        {
            // A worker that blocked its thread past its timeout or the run's cancellation does not succeed late.
            return pending.IsCompletedSuccessfully && cancellationToken.IsCancellationRequested
                ? ValueTask.FromCanceled<TaskResult>(cancellationToken)
                : pending;
        }

        return new ValueTask<TaskResult>(CancellationGrace.AwaitAsync(pending.AsTask(), _context.GracePeriod, _context.TimeProvider,
            static state => state.Run.MarkAbandoned(state.Task), (Run: this, Task: task), cancellationToken));
    }

    /// <summary>A worker did not return within the grace period after it was cancelled: it is left running, and its
    /// task's error says so.</summary>
    private void MarkAbandoned(int task)
    {
        var abandoned = Volatile.Read(ref _abandoned) ?? Interlocked.CompareExchange(ref _abandoned, new bool[_count], null) ?? _abandoned!;
        Volatile.Write(ref abandoned[task], true);
        _context.Log.WorkerAbandoned(RunId, _plan.Tasks[task].Id, _plan.Tasks[task].Worker, _context.GracePeriod.TotalSeconds);
    }

    /// <summary>Whether an attempt of the task was abandoned while still running.</summary>
    internal bool WasAbandoned(int task) => Volatile.Read(ref _abandoned) is { } abandoned && Volatile.Read(ref abandoned[task]);

    private string AbandonedNote(int task) =>
        Volatile.Read(ref _abandoned) is { } abandoned && Volatile.Read(ref abandoned[task])
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"; worker '{_plan.Tasks[task].Worker}' did not return within the {_context.GracePeriod.TotalSeconds:0.###}s grace period after it was cancelled and was abandoned")
            : string.Empty;

    /// <summary>Turns a worker's progress reports into <see cref="RunEventKind.TaskOutput"/> events.</summary>
    private sealed class TaskProgress(FlowRun run, int task, int attempt) : IProgress<string>
    {
        public void Report(string value) => run.Emit(RunEventKind.TaskOutput, task, attempt: attempt, message: value);
    }

    private sealed class DiscardProgress : IProgress<string>
    {
        public static readonly DiscardProgress Instance = new();

        public void Report(string value)
        {
        }
    }

    internal void OnRetrying(int task, int nextAttempt, TimeSpan delay, Exception? error)
    {
        var message = _context.Secrets.RedactOrNull(error is null ? "failed" : Describe(error))!;
        _context.Log.TaskRetrying(RunId, _plan.Tasks[task].Id, nextAttempt, delay.TotalSeconds, message);
        Emit(RunEventKind.TaskRetrying, task, _slotOfTask?[task] ?? 0, nextAttempt, message: message, delay: delay);
    }

    private static string Describe(Exception exception) => exception switch
    {
        TimeoutRejectedException timeout => $"timed out after {timeout.Timeout.TotalSeconds:0.###}s",
        TransientTaskException or FatalTaskException => exception.Message,
        _ => $"{exception.GetType().Name}: {exception.Message}",
    };
}
