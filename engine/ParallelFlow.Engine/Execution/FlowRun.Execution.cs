using ParallelFlow.Engine.Workers;
using ParallelFlow.Sdk;
using Polly;
using Polly.Timeout;

namespace ParallelFlow.Engine.Execution;

/// <summary>Running one task: its cache lookup, attempts, timeout and retries; the run's side of the executor seam
/// (<see cref="IExecutionHost"/>). Never throws: every outcome is written to the task's row of the task table, by the
/// one thread executing it, before the task is handed back to the scheduler.</summary>
public sealed partial class FlowRun
{
    /// <inheritdoc/>
    ExecutionContext? IExecutionHost.Context => _callerContext;

    /// <inheritdoc/>
    ValueTask IExecutionHost.ExecuteAsync(int task, ref ExecutorLoop loop) => RunTask(task, ref loop);

    /// <inheritdoc/>
    int IExecutionHost.Finished(int task, int callerGroup)
    {
        if (_commit is not null)
        {
            return FinishJournaled(task, callerGroup);
        }

        // A caller without a loop's count: what a lane's step counted is added to the run's at once. (Never the last
        // task's count: that step settles itself, and a task handed back here is still to run.)
        var loop = ExecutorLoop.Once();
        var next = FinishTask(task, callerGroup, ref loop);
        _lane?.Release(ref loop.Stripe);
        Settle(ref loop.Unsettled);
        return next;
    }

    /// <inheritdoc/>
    int IExecutionHost.Finished(int task, int callerGroup, ref ExecutorLoop loop) =>
        _commit is null ? FinishTask(task, callerGroup, ref loop) : FinishJournaled(task, callerGroup);

    /// <summary>Runs a task to its outcome. A task that needs nothing around its one attempt (no cache, context cut,
    /// timeout, retry or span: <see cref="CompiledPlan.Plain"/>) and whose worker answers at once is run here without an
    /// async state machine; anything else, or a worker still busy, continues in an async method.</summary>
    /// <param name="task">The task, counted as running.</param>
    /// <param name="loop">The calling loop. After its previous task (the inline fast path), this task starts when
    /// that one ended, or its own last dependency did if later (<see cref="InheritedStart"/>). Not when the run records
    /// when tasks became ready or someone reads its events, whose times the step takes after that end. Its context is
    /// the one the task runs in, and its spare request the one lent to the task's attempt.</param>
    private ValueTask RunTask(int task, ref ExecutorLoop loop)
    {
        var previous = loop.Previous;
        _tasks.Started[task] = previous >= 0 && _tasks.Ready is null && _events is null ? InheritedStart(task, previous) : Now();
        if (_cancellation.IsCancellationRequested)
        {
            _tasks.Status[task] = TaskRunStatus.Cancelled;
            _tasks.SetFailure(task, FailureKind.Cancelled, "cancelled before it started");
            _tasks.Ended[task] = NowAtEnd();
            TraceNeverRan(task);
            return default;
        }

        var activity = _taskSpans is null ? null : _taskSpans[task] = Diagnostics.EngineTelemetry.StartTask(_runSpan, RunId, _plan.Tasks[task].Id, _plan.Tasks[task].Worker, _plan.Wave[task]);
        // Slots are written under the gate before the step hands the task to the executor, which orders this read.
        if (_events is not null)
        {
            Emit(RunEventKind.TaskStarted, task, _tasks.Slots?[task] ?? 0, attempt: 1);
        }

        if (_taskSpans is not null || _cache is not null || !_plan.Plain[task])
        {
            return RunAttemptsAsync(task, activity);
        }

        // What the worker changes of its execution context while it runs here (an AsyncLocal, the culture) is undone
        // when it returns, as an async method's caller would see it: the next task this loop runs starts clean.
        var context = loop.Context;
        ValueTask<TaskResult> attempt;
        // The loop's spare request, for a worker that keeps none past its attempt: taken while the attempt has it.
        TaskRequest? lent = null;
        if (_plan.LendsRequests[task] && _dispatcher is null)
        {
            lent = loop.Spare ?? TakeSpareRequest();
            loop.Spare = null;
        }

        try
        {
            attempt = InvokeOnceAsync(task, _cancellation.Token, lent);
        }
#pragma warning disable CA1031 // Whatever a worker throws becomes the task's status.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            RestoreContext(context);
            Fail(task, ex, null);
            End(task, null);
            return default;
        }

        RestoreContext(context);

        if (!attempt.IsCompletedSuccessfully)
        {
            // A request still in use (or one a failure may hold) is the attempt's for good.
            return AwaitAttemptAsync(task, attempt);
        }

        Succeed(task, attempt.Result);
        if (lent is not null)
        {
            // The attempt has completed: the worker is done with the request, and the loop's next attempt takes it.
            // It still refers to this run until the loop ends (KeepSpareRequest): the next attempt, of this run, then
            // writes only what differs.
            loop.Spare = lent;
        }

        End(task, null);
        return default;
    }

    /// <summary>A request object no attempt has, for the next executor loop on this thread that lends one: a loop takes
    /// it for its first such attempt and keeps it (<see cref="ExecutorLoop.Spare"/>), and gives its own back emptied
    /// when it ends (<see cref="KeepSpareRequest"/>). Per thread, and taken out while a loop has it: a loop nested in
    /// an attempt on the same thread (another run's) finds none and makes its own.</summary>
    [ThreadStatic]
    private static TaskRequest? t_spareRequest;

    /// <summary>An executor loop has ended: its spare request, if any, is emptied (it keeps no run, plan or token
    /// alive past its run) and kept by this thread for its next loop, unless the thread has one.</summary>
    internal static void KeepSpareRequest(TaskRequest? spare)
    {
        if (spare is null)
        {
            return;
        }

        spare.Emptied();
        t_spareRequest ??= spare;
    }

    private static TaskRequest TakeSpareRequest()
    {
        if (t_spareRequest is { } spare)
        {
            t_spareRequest = null;
            return spare;
        }

        return new TaskRequest(TaskRequestSpec.Empty, RequestScope.Default);
    }

    private static void RestoreContext(ExecutionContext? context)
    {
        if (context is not null && !ReferenceEquals(ExecutionContext.Capture(), context))
        {
            ExecutionContext.Restore(context);
        }
    }

    /// <summary>The one attempt of a plain task whose worker did not answer at once.</summary>
    private async ValueTask AwaitAttemptAsync(int task, ValueTask<TaskResult> attempt)
    {
        try
        {
            Succeed(task, await attempt.ConfigureAwait(false));
        }
#pragma warning disable CA1031 // Whatever a worker throws becomes the task's status; nothing may fault the block.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Fail(task, ex, null);
        }

        End(task, null);
    }

    /// <summary>A task's attempts with whatever surrounds them: its context cut, the cache, its timeout and retries.</summary>
    private async ValueTask RunAttemptsAsync(int task, System.Diagnostics.Activity? activity)
    {
        var policy = _plan.Policies[task];
        try
        {
            if ((_plan.Tasks[task].Context ?? _plan.Definition.Context) is { } context && _plan.Graph.HardPredecessorStart[task] != _plan.Graph.HardPredecessorStart[task + 1])
            {
                await CompressInputsAsync(task, context).ConfigureAwait(false);
            }

            if (_cache is not null && CacheKeyOf(task) is { } key)
            {
                await RunCachedAsync(task, key, policy).ConfigureAwait(false);
            }
            else
            {
                Succeed(task, await ExecuteOnceAsync(task, policy).ConfigureAwait(false));
            }
        }
#pragma warning disable CA1031 // Whatever a worker throws becomes the task's status; nothing may fault the block.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Fail(task, ex, policy);
        }

        End(task, activity);
    }

    /// <summary>Writes a task's result, its secrets masked, and its success.</summary>
    private void Succeed(int task, TaskResult result)
    {
        _tasks.Results[task] = Masked(result);
        _tasks.Status[task] = TaskRunStatus.Succeeded;
    }

    /// <summary>Writes why a task's last attempt failed: its status, failure kind, error and any partial output.</summary>
    private void Fail(int task, Exception ex, TaskPolicy? policy)
    {
        var kind = ExceptionClassifier.Classify(ex, _cancellation.Token);
        (_tasks.Status[task], var error) = kind switch
        {
            FailureKind.Timeout => (TaskRunStatus.TimedOut, $"timed out after {policy?.Timeout?.TotalSeconds:0.###}s (attempt {_tasks.Attempts[task]}){AbandonedNote(task)}"),
            FailureKind.Stuck => (TaskRunStatus.TimedOut, $"{ex.Message} (attempt {_tasks.Attempts[task]}): timeouts.worker_heartbeat{AbandonedNote(task)}"),
            // The stop reason is read outside the gate: it is written once, and only ever from None to a reason
            // (a caller's own token may cancel this attempt before it is written: then None reads as a plain cancel).
            FailureKind.Cancelled => (TaskRunStatus.Cancelled, Reason switch
            {
                StopReason.FailedFast => "cancelled: the run failed fast",
                StopReason.WallTime => $"cancelled while running: the run's wall-time budget ({_budgetSettings!.WallSeconds:0.###}s) ran out",
                _ => "cancelled while running",
            } + AbandonedNote(task)),
            _ => (TaskRunStatus.Failed, Describe(ex)),
        };
        _tasks.SetFailure(task, kind, _context.Secrets.RedactOrNull(error));
        if (PartialOutput(ex) is { } partial)
        {
            // What the last attempt wrote before it failed: kept to read, never a result a dependent could take.
            (_tasks.PartialOutputs ??= new string?[_count])[task] = _context.Secrets.RedactOrNull(partial);
        }
    }

    /// <summary>The start of a task that the loop runs right after <paramref name="previous"/>, with only the step between
    /// them: the later of that task's end and its own dependencies' ends. One clock read for the two tasks, not two, so
    /// the step (well under a microsecond, unless the gate is contended or the thread preempted) counts in this task's
    /// time. Its dependencies count because one run by another thread may have ended after the previous task did (by
    /// milliseconds, when this thread was preempted in its step): no task is recorded as starting before a dependency
    /// ended. A task with more than four dependencies, or one that only orders it (<c>after</c>), reads the clock.</summary>
    private long InheritedStart(int task, int previous)
    {
        var graph = _plan.Graph;
        var (from, to) = (graph.HardPredecessorStart[task], graph.HardPredecessorStart[task + 1]);
        if (to - from != graph.PredecessorCount[task] || to - from > 4)
        {
            return Now();
        }

        var start = _tasks.Ended[previous];
        for (var i = from; i < to; i++)
        {
            start = Math.Max(start, _tasks.Ended[graph.HardPredecessors[i]]);
        }

        return start;
    }

    /// <summary>A task's outcome is written: its end, its last attempt's record and its span.</summary>
    private void End(int task, System.Diagnostics.Activity? activity)
    {
        _tasks.Ended[task] = NowAtEnd();
        _tasks.EndLast(task);
        if (activity is not null)
        {
            var status = _tasks.Status[task];
            Diagnostics.EngineTelemetry.EndTask(activity, status.ToName(), _tasks.Attempts[task], status.IsSuccess() ? null : _tasks.FailureKinds[task].ToName(),
                _tasks.Errors[task], _tasks.Results[task]);
            activity.Dispose();
            // Retries are over: nothing reads the span again, and a long run need not keep it.
            _taskSpans![task] = null;
        }
    }

    /// <summary>A task the cache may answer: a hit, or one attempt whose result is stored. Apart from
    /// <see cref="RunAttemptsAsync"/>, whose every call would otherwise allocate the closure this lambda needs.</summary>
    private async ValueTask RunCachedAsync(int task, TaskCacheKey key, TaskPolicy? policy)
    {
        _tasks.CacheKeys![task] = key;
        // Masked before the cache stores it, so a secret never reaches the journal's cache either.
        var (result, cached) = await SingleFlight.For(_cache!).RunAsync(
            key, _cacheTimeToLive, RunId, _plan.Tasks[task].Id, async () => Masked(await ExecuteOnceAsync(task, policy).ConfigureAwait(false)), _cancellation.Token).ConfigureAwait(false);
        // A hit stored before the variable was declared secret is masked too.
        _tasks.Results[task] = Masked(result);
        _tasks.Status[task] = cached ? TaskRunStatus.Cached : TaskRunStatus.Succeeded;
    }

    /// <summary>Cuts down each dependency output over the task's <c>context</c> limit, before its first attempt: what
    /// the task receives, and what its cache key is made from.</summary>
    private async ValueTask CompressInputsAsync(int task, Plans.ContextSettings context)
    {
        var count = _plan.Catalog.TokenCounter;
        Dictionary<int, TaskResult>? cut = null;
        long before = 0, after = 0;
        var usage = TaskUsage.None;
        foreach (var predecessor in _plan.Graph.HardPredecessorsOf(task).ToArray())
        {
            var result = _tasks.Results[predecessor];
            var text = result?.Text ?? result?.Json?.GetRawText();
            if (text is null || count(text) is var tokens && tokens <= context.MaxTokens)
            {
                continue;
            }

            string compressed;
            if (context.Strategy == Plans.ContextSettings.Summarize)
            {
                var summary = await SummarizeAsync(task, _plan.Tasks[predecessor].Id, text, context).ConfigureAwait(false);
                compressed = summary.Text ?? string.Empty;
                usage = new TaskUsage(usage.InputTokens + summary.Usage.InputTokens, usage.OutputTokens + summary.Usage.OutputTokens, usage.Cost + summary.Usage.Cost);
            }
            else
            {
                compressed = ContextCompressor.Compress(text, context, count);
            }

            (cut ??= [])[predecessor] = TaskResult.FromText(compressed);
            before += tokens;
            after += count(compressed);
        }

        if (cut is not null)
        {
            (_tasks.ContextInputs ??= new Dictionary<int, TaskResult>?[_count])[task] = cut;
            (_tasks.ContextReports ??= new ContextReport?[_count])[task] = new ContextReport(context.Strategy, cut.Count, before, after, usage);
        }
    }

    /// <summary>A dependency's output summarized by the <c>llm</c> worker with the context's model, within its limit.</summary>
    private async ValueTask<TaskResult> SummarizeAsync(int task, string dependency, string text, Plans.ContextSettings context)
    {
        // The worker a model name runs on, as for a vote's model voters (llm, by default).
        var workerName = _plan.Catalog.StageDefaults.ModelWorker;
        if (!_plan.Catalog.TryGetWorker(workerName, out var llm))
        {
            throw new FatalTaskException($"context: the summarize strategy needs the {workerName} worker (the semantic-kernel plugin in the plugin list)");
        }

        var with = Diagnostics.EngineJson.Element(new System.Text.Json.Nodes.JsonObject
        {
            ["model"] = context.Model!,
            ["max_tokens"] = context.MaxTokens,
            ["prompt"] = $"Summarize the following output of task '{dependency}' in at most {context.MaxTokens} tokens. Keep names, numbers, decisions and errors.\n\n{text}",
        });
        var request = new TaskRequest
        {
            TaskId = $"{_plan.Tasks[task].Id}/context:{dependency}",
            WorkerName = workerName,
            Description = $"summary of '{dependency}' for '{_plan.Tasks[task].Id}'",
            With = with,
            Parameters = llm.BindParameters(with),
            Scope = _requestScope,
            CancellationToken = _cancellation.Token,
        };
        return Masked(await llm.ExecuteAsync(request, _cancellation.Token).ConfigureAwait(false));
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
        var version = AssemblyVersions.Of(assembly);
        var inputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var predecessor in _plan.Graph.HardPredecessorsOf(task))
        {
            // What the task received: a dependency's output as it was cut down for it (context), else as it is.
            inputs[_plan.Tasks[predecessor].Id] = TaskCacheKey.HashOf(_tasks.ContextInputs?[task]?.GetValueOrDefault(predecessor) ?? _tasks.Results[predecessor]);
        }

        // The run's input values the task uses are part of its key, whether the engine put them into its parameters or
        // its worker fills them in itself (a template).
        if (_inputs is not null && _plan.InputNames is { } names)
        {
            foreach (var name in names[task])
            {
                if (_inputs.Values.TryGetValue(name, out var value))
                {
                    inputs[$"inputs.{name}"] = value.GetRawText();
                }
            }
        }

        return new TaskCacheKey(definition.Worker, $"{assembly.GetName().Name} {version}", TaskCacheKey.Canonical(_inputs?.With[task] ?? definition.With), definition.Description, inputs);
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

    /// <summary>One attempt, in its own span when someone traces.</summary>
    private ValueTask<TaskResult> InvokeAsync(int task, CancellationToken cancellationToken) =>
        _taskSpans is null ? InvokeOnceAsync(task, cancellationToken) : InvokeTracedAsync(task, cancellationToken);

    /// <summary>One attempt in a span of its own, current while the worker runs so that the worker's own spans (a call
    /// to a model's endpoint) nest under it.</summary>
    private async ValueTask<TaskResult> InvokeTracedAsync(int task, CancellationToken cancellationToken)
    {
        var definition = _plan.Tasks[task];
        var span = Diagnostics.EngineTelemetry.StartAttempt(definition.Id, definition.Worker, _plan.Workers[task].ModelOperation, _tasks.Attempts[task] + 1, _inputs?.With[task] ?? definition.With);
        try
        {
            var result = await InvokeOnceAsync(task, cancellationToken).ConfigureAwait(false);
            Diagnostics.EngineTelemetry.EndAttempt(span, result, null, null);
            return result;
        }
        catch (Exception ex)
        {
            // Polly's timeout cancels the attempt's own token, not the run's: the attempt timed out.
            var timedOut = ex is OperationCanceledException && cancellationToken.IsCancellationRequested && !_cancellation.IsCancellationRequested;
            Diagnostics.EngineTelemetry.EndAttempt(span, null, timedOut ? FailureKind.Timeout.ToName() : ExceptionClassifier.Classify(ex, _cancellation.Token).ToName(),
                timedOut ? "timed out" : _context.Secrets.RedactOrNull(Describe(ex)));
            throw;
        }
    }

    /// <summary>One attempt. A worker that ignores its token is abandoned when the token fires, so a timeout is hard
    /// and cancelling a run does not wait for misbehaving workers.</summary>
    /// <param name="task">The task.</param>
    /// <param name="cancellationToken">The run's token.</param>
    /// <param name="lent">A request object to fill in instead of making one (<see cref="CompiledPlan.LendsRequests"/>), or null.</param>
    private ValueTask<TaskResult> InvokeOnceAsync(int task, CancellationToken cancellationToken, TaskRequest? lent = null)
    {
        var attempt = ++_tasks.Attempts[task];
        _commit?.Add(new JournalEntry(RunId, _plan.Tasks[task].Id, attempt, _context.TimeProvider.GetUtcNow(), null));
        if (attempt > 1 && _tasks.AttemptLogs is not null)
        {
            _tasks.BeginRetry(task, attempt, Now());
        }

        var progress = _events is null ? DiscardProgress.Instance : (IProgress<string>)new TaskProgress(this, task, attempt);
        return _plan.Heartbeat is { } silence && _plan.Workers[task].ReportsProgress
            ? InvokeWatchedAsync(task, attempt, progress, silence, cancellationToken)
            : Dispatch(task, Request(task, attempt, progress, cancellationToken, lent), cancellationToken);
    }

    /// <summary>The request of an attempt: a new one, or <paramref name="lent"/> filled in again.</summary>
    /// <param name="task">The task.</param>
    /// <param name="attempt">The attempt number.</param>
    /// <param name="progress">Where the worker reports progress.</param>
    /// <param name="cancellationToken">The attempt's token.</param>
    /// <param name="lent">A request object an earlier attempt gave back (<see cref="CompiledPlan.LendsRequests"/>),
    /// filled in instead of making one; or null.</param>
    private TaskRequest Request(int task, int attempt, IProgress<string> progress, CancellationToken cancellationToken, TaskRequest? lent = null)
    {
        // The task's id, worker, description and parameters are one reference to what the plan made once: making a
        // request reads nothing of the task's definition.
        var spec = _inputs is null ? _plan.RequestSpecs[task] : _inputs.Specs[task];
        // The view of the dependencies' results is made if the worker reads it (DependencyOutputsOf).
        var dependencies = _plan.Graph.HardPredecessorStart[task] == _plan.Graph.HardPredecessorStart[task + 1] ? null : this;
        return lent is not null
            ? lent.Refill(spec, _requestScope, dependencies, task, attempt, progress, cancellationToken)
            : new TaskRequest(spec, _requestScope)
            {
                DependencySource = dependencies,
                DependencyTask = task,
                Attempt = attempt,
                Progress = progress,
                CancellationToken = cancellationToken,
            };
    }

    /// <summary>Hands an attempt to its worker (here, or through the dispatcher), abandoning a worker that does not
    /// return within the grace period after its token fires.</summary>
    private ValueTask<TaskResult> Dispatch(int task, TaskRequest request, CancellationToken cancellationToken)
    {
        ValueTask<TaskResult> pending;
        try
        {
            pending = _dispatcher is null
                ? _executor.InvokeAsync(task, request, cancellationToken)
                : _dispatcher.DispatchAsync(new TaskDispatch(this, task, request), cancellationToken);
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

    /// <summary>An attempt under the plan's heartbeat: each progress report restarts the watch, and an attempt silent
    /// for the whole interval is cancelled and fails as stuck (retried by the task's retry policy). Its own token, not
    /// the run's: the rest of the run goes on.</summary>
    private async ValueTask<TaskResult> InvokeWatchedAsync(int task, int attempt, IProgress<string> progress, TimeSpan silence, CancellationToken cancellationToken)
    {
        using var watch = new Heartbeat(progress, silence, _context.TimeProvider, cancellationToken);
        try
        {
            return await Dispatch(task, Request(task, attempt, watch, watch.Token), watch.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (watch.Fired && !cancellationToken.IsCancellationRequested)
        {
            _context.Log.TaskStuck(RunId, _plan.Tasks[task].Id, attempt, silence.TotalSeconds);
            throw new TaskStuckException(silence);
        }
    }

    /// <inheritdoc/>
    IReadOnlyDictionary<string, TaskResult> IDependencyOutputSource.DependencyOutputsOf(int task) => new DependencyOutputs(_plan, _tasks, task, _tasks.ContextInputs?[task]);

    /// <summary>A worker did not return within the grace period after it was cancelled: it is left running, and its
    /// task's error says so.</summary>
    private void MarkAbandoned(int task)
    {
        _tasks.MarkAbandoned(task);
        _context.Log.WorkerAbandoned(RunId, _plan.Tasks[task].Id, _plan.Tasks[task].Worker, _context.GracePeriod.TotalSeconds);
    }

    /// <summary>Whether an attempt of the task was abandoned while still running.</summary>
    internal bool WasAbandoned(int task) => _tasks.WasAbandoned(task);

    private string AbandonedNote(int task) =>
        _tasks.WasAbandoned(task)
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"; worker '{_plan.Tasks[task].Worker}' did not return within the {_context.GracePeriod.TotalSeconds:0.###}s grace period after it was cancelled and was abandoned")
            : string.Empty;

    /// <summary>The watch of one attempt's heartbeat: a timer on the run's clock, restarted by every progress report
    /// (which it passes on), that cancels the attempt's token when it fires.</summary>
    private sealed class Heartbeat : IProgress<string>, IDisposable
    {
        private readonly IProgress<string> _inner;
        private readonly TimeSpan _silence;
        private readonly CancellationTokenSource _cancel;
        private readonly ITimer _timer;
        private int _fired;

        public Heartbeat(IProgress<string> inner, TimeSpan silence, TimeProvider time, CancellationToken attempt)
        {
            _inner = inner;
            _silence = silence;
            _cancel = CancellationTokenSource.CreateLinkedTokenSource(attempt);
            _timer = time.CreateTimer(static state => ((Heartbeat)state!).Fire(), this, silence, Timeout.InfiniteTimeSpan);
        }

        public CancellationToken Token => _cancel.Token;

        public bool Fired => Volatile.Read(ref _fired) == 1;

        public void Report(string value)
        {
            if (!Fired)
            {
                _timer.Change(_silence, Timeout.InfiniteTimeSpan);
            }

            _inner.Report(value);
        }

        public void Dispose()
        {
            _timer.Dispose();
            _cancel.Dispose();
        }

        private void Fire()
        {
            if (Interlocked.Exchange(ref _fired, 1) == 0)
            {
                try
                {
                    _cancel.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The attempt ended as the timer fired.
                }
            }
        }
    }

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

    /// <summary>An attempt's executor was lost and the dispatcher sent the attempt again: an event, a count in the
    /// task's result, a log line and a span event; the attempt number is unchanged.</summary>
    internal void OnRequeued(int task, int attempt, string reason)
    {
        reason = _context.Secrets.RedactOrNull(reason)!;
        var requeues = Volatile.Read(ref _tasks.Requeues) ?? Interlocked.CompareExchange(ref _tasks.Requeues, new int[_count], null) ?? _tasks.Requeues!;
        Interlocked.Increment(ref requeues[task]);
        Diagnostics.EngineTelemetry.Requeued(_taskSpans?[task], attempt, reason);
        _context.Log.TaskRequeued(RunId, _plan.Tasks[task].Id, attempt, reason);
        Emit(RunEventKind.TaskRequeued, task, _tasks.Slots?[task] ?? 0, attempt, message: reason);
    }

    internal void OnRetrying(int task, int nextAttempt, TimeSpan delay, Exception? error)
    {
        var message = _context.Secrets.RedactOrNull(error is null ? "failed" : Describe(error))!;
        if (_tasks.AttemptLogs is not null)
        {
            _tasks.EndRetried(task, NowAtEnd(), error is TimeoutRejectedException or TaskStuckException ? TaskRunStatus.TimedOut : TaskRunStatus.Failed, message, delay);
        }

        Diagnostics.EngineTelemetry.Retrying(_taskSpans?[task], nextAttempt, delay, message);
        _context.Log.TaskRetrying(RunId, _plan.Tasks[task].Id, nextAttempt, delay.TotalSeconds, message);
        Emit(RunEventKind.TaskRetrying, task, _tasks.Slots?[task] ?? 0, nextAttempt, message: message, delay: delay);
    }

    /// <summary>What a failed attempt wrote before it failed, when its worker said (<see cref="FatalTaskException.Output"/>).</summary>
    private static string? PartialOutput(Exception exception) => exception switch
    {
        FatalTaskException { Output: { } output } => output,
        TransientTaskException { Output: { } output } => output,
        _ => null,
    };

    private static string Describe(Exception exception) => exception switch
    {
        TimeoutRejectedException timeout => $"timed out after {timeout.Timeout.TotalSeconds:0.###}s",
        TaskStuckException stuck => stuck.Message,
        TransientTaskException or FatalTaskException => exception.Message,
        _ => $"{exception.GetType().Name}: {exception.Message}",
    };
}
