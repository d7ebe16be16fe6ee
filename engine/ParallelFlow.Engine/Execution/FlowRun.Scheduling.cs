using System.Diagnostics;

namespace ParallelFlow.Engine.Execution;

/// <summary>The scheduling step and the run's state machine (<see cref="RunPhase"/>). The step runs under the run's
/// gate, one at a time, and owns the state below; each method that must hold the gate asserts it. The exceptions are
/// said where they are: a success's release of its dependents' counts and the hand-over (<see cref="FinishTask"/>,
/// <see cref="TryHandOver"/>) and the lock-free lane (FlowRun.Lane.cs), which change the running and finished counts
/// and the ready set with atomic operations outside the gate.</summary>
public sealed partial class FlowRun
{
    /// <summary>What a scheduling step is about.</summary>
    private enum StepKind
    {
        /// <summary>The run starts: the tasks without dependencies become ready.</summary>
        Start,

        /// <summary>A stop was requested: ready tasks end cancelled.</summary>
        Stop,

        /// <summary>A task ended: its worker is free, and it counts as finished. With <see cref="StepMessage.Tasks"/>, it
        /// succeeded and its dependents' counts were released before the step (<see cref="FinishTask"/>): those listed
        /// are ready.</summary>
        Finished,

        /// <summary>A task ended and its worker is free, but it counts as finished only once its journal entry is durable.</summary>
        Released,

        /// <summary>The journal entries of released tasks are durable: they count as finished now.</summary>
        Durable,

        /// <summary>The run's pool may have a slot for it: ready tasks are offered again.</summary>
        Wake,

        /// <summary>A worker of a lane run in a pool found no task to run next: it is given back, with its pool slot.</summary>
        Freed,
    }

    /// <summary>A message to the scheduling step.</summary>
    private readonly record struct StepMessage(StepKind Kind, int Task = -1, List<int>? Tasks = null);

    /// <summary>What a step leaves to its caller, to do outside the gate.</summary>
    /// <param name="InlineTask">A task of the caller's group, counted as running, which the caller runs next itself; or −1.</param>
    /// <param name="Stopped">The step moved the run to <see cref="RunPhase.Stopping"/>: the running tasks' token must be cancelled.</param>
    /// <param name="Start">A task counted as running that the executor must be given; or −1.</param>
    /// <param name="MoreToStart">Any further such tasks, or null.</param>
    private readonly record struct StepOutcome(int InlineTask, bool Stopped, int Start = -1, int[]? MoreToStart = null);

    private readonly int[] _remaining;
    private readonly ReadyQueues _ready;
    private readonly int[] _groupRunning;
    private readonly int[] _groupCapacity;
    private readonly List<int>? _waitingForBudget;
    private bool[]? _budgetWaitTraced;
    private readonly Stack<int> _freeSlots = new();
    private readonly Stack<int> _resolveStack = new();
    private int _nextSlot = 1;
    private int _running;
    private int _peakRunning;
    // Counted under the gate, and by a hand-over or a lane's step outside it: atomic everywhere, on a line of its own.
    private PaddedCount _finished;
    private int _awaitingDurable;

    // Written under the gate (Finished → Published once outside it, by compare-and-swap); read outside it by
    // PublishOutcome, which acts only on Finished, after which nothing under the gate writes, and by the hand-over and
    // the lane, which act only while it is Running (and read it again after taking a worker).
    private int _phase;

    // Written once, by compare-and-swap, from any thread (RequestStop, or a fail-fast step); read anywhere: it only
    // ever goes from None to one reason.
    private int _stopReason;

    // Scoped to one step: set at its start, read at its end.
    private int _inlineGroup = -1;
    private int _inlineTask = -1;
    private int _toStart = -1;
    private readonly List<int> _moreToStart = [];
    private int _releasedSlot;

    // Set once, before the phase becomes Finished; read after PublishOutcome sees Finished.
    private RunResult? _result;
    private Exception? _fault;

    private RunPhase Phase => (RunPhase)Volatile.Read(ref _phase);

    /// <summary>Why the run stops, or <see cref="StopReason.None"/>.</summary>
    private StopReason Reason => (StopReason)Volatile.Read(ref _stopReason);

    private bool IsStopping => Phase >= RunPhase.Stopping;

    // What FinishTask lists per thread: the dependents its release made ready (reused, so a step allocates nothing).
    [ThreadStatic]
    private static List<int>? t_madeReady;

    /// <summary>A task ended (a run without a journal). A success releases its dependents' counts before the gate (each
    /// with one atomic decrement, or none for a dependent with no other dependency: <see cref="Release"/>), as a
    /// hand-written scheduler would: the step under the gate then only enqueues those
    /// whose count this release brought to zero, so the two threads' steps hold the gate for less time. A task that did
    /// not succeed, or a run that is stopping, takes the step as before (skips are decided under the gate).</summary>
    /// <remarks>Only for runs nobody watches: with the release made before the step, a dependent whose last count
    /// another predecessor's step releases can start before this task's own step has announced it finished. The task
    /// has ended, and its result is written, so nothing but the order of the events differs; a run whose events are
    /// read keeps them in order (a dependent is queued only after every dependency's <c>task_finished</c>).</remarks>
    /// <param name="task">The task.</param>
    /// <param name="callerGroup">See <see cref="IExecutionHost.Finished(int, int)"/>.</param>
    /// <param name="loop">The calling loop: its count of successes the run has not counted yet, its lane set and its
    /// looks at the others (<see cref="ExecutorLoop"/>).</param>
    private int FinishTask(int task, int callerGroup, ref ExecutorLoop loop)
    {
        var succeeded = _tasks.Status[task].IsSuccess() && !IsStopping;
        if (_lane is not null)
        {
            if (succeeded && (Pool is null || Pool.NoOtherWaits(this)))
            {
                return FinishInLane(task, callerGroup, ref loop);
            }

            // The step counts what the loop has not: its own count of finished tasks must then be whole. The loop's
            // set goes back too: the step may end the loop (a loop that goes on takes one again at its next success).
            Settle(ref loop.Unsettled);
            _lane.Release(ref loop.Stripe);
        }

        if (_events is not null || !succeeded)
        {
            return TakeStep(new StepMessage(StepKind.Finished, task), callerGroup);
        }

        var madeReady = t_madeReady ??= [];
        madeReady.Clear();
        var graph = _plan.Graph;
        for (var edge = graph.SuccessorStart[task]; edge < graph.SuccessorStart[task + 1]; edge++)
        {
            var next = graph.Successors[edge];
            if (Release(next, graph.SuccessorIsSole[edge]))
            {
                madeReady.Add(next);
            }
        }

        // (Not a lane run in a pool that another run waits beside: its ready tasks are in the lane, which the check for
        // a waiting task does not see.)
        if (madeReady.Count == 1 && _handsOver && (Pool is null || (_lane is null && Pool.NoOtherWaits(this))) && TryHandOver(task, madeReady[0], callerGroup))
        {
            return madeReady[0];
        }

        var inline = TakeStep(new StepMessage(StepKind.Finished, task, madeReady), callerGroup);
        if (madeReady.Capacity > 4096)
        {
            // A wide fan-out's list is not kept for the thread's life.
            t_madeReady = null;
        }

        return inline;
    }

    /// <summary>The step for a success that made exactly one dependent ready, of the same worker type, while no other
    /// task waits, in a run that keeps nothing per worker (<see cref="_handsOver"/>; in a pool, while no other run waits
    /// for a slot): the step would count the task finished and give its worker (and its pool slot) to that dependent, the best ready task and the only one. Here that is done without the gate, with one
    /// atomic increment, so a chain's steps never contend for it.</summary>
    /// <returns>Whether the worker was handed over: the caller runs <paramref name="next"/> now. When not, the caller
    /// takes the step as usual, and nothing was changed.</returns>
    /// <remarks>The running counts do not move: the worker goes from one task to the other. A step under the gate that
    /// races with this one sees the dependent either still pending or running, never ready, and no slot freed: it
    /// starts nothing that this one starts, and strands nothing. The count of finished tasks reaches the task count
    /// only in a step under the gate: a task handed over is not finished, so this increment is never the last.</remarks>
    private bool TryHandOver(int task, int next, int callerGroup)
    {
        if (_plan.Group[next] != callerGroup || Phase != RunPhase.Running || Reason != StopReason.None || _ready.Count != 0)
        {
            return false;
        }

        MeasureFinished(task);
        Interlocked.Increment(ref _finished.Value);
        _tasks.Status[next] = TaskRunStatus.Running;
        return true;
    }

    /// <summary>Takes a scheduling step from any thread, then does what it leaves to be done outside the gate.</summary>
    /// <returns>The task the caller (of <paramref name="callerGroup"/>) runs next itself, or −1.</returns>
    private int TakeStep(StepMessage message, int callerGroup)
    {
        StepOutcome outcome;
        lock (_gate)
        {
            outcome = Step(message, callerGroup);
        }

        StartOutside(outcome);
        if (outcome.Stopped)
        {
            CancelWorkers();
        }

        PublishOutcome();
        return outcome.InlineTask;
    }

    /// <summary>Gives the executor the tasks a step counted as running, once the gate is left: handing a task to an
    /// execution block takes the block's own lock and may queue a work item, which need not hold up the other threads'
    /// steps.</summary>
    private void StartOutside(in StepOutcome outcome)
    {
        Debug.Assert(!_gate.IsHeldByCurrentThread, "Tasks are handed to the executor outside the gate.");
        if (outcome.Start < 0)
        {
            return;
        }

        _executor.Start(outcome.Start, _plan.Group[outcome.Start]);
        foreach (var task in outcome.MoreToStart ?? [])
        {
            _executor.Start(task, _plan.Group[task]);
        }
    }

    /// <summary>The scheduling step: apply a change (start, stop, or a task finished), hand ready tasks to the executor,
    /// and finish the run when every task is final. An engine bug ends the run visibly rather than leaving it hanging.</summary>
    private StepOutcome Step(StepMessage message, int callerGroup)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread, "A scheduling step runs under the run's gate.");
#if DEBUG
        // The gate (a Lock) lets its holder in again; a step must never be: debug builds check it.
        Debug.Assert(!_inStep, "A scheduling step was entered from inside another (a callback made under the gate took a step).");
        _inStep = true;
        try
        {
            return StepCore(message, callerGroup);
        }
        finally
        {
            _inStep = false;
        }
#else
        return StepCore(message, callerGroup);
#endif
    }

#if DEBUG
    private bool _inStep;
#endif

    private StepOutcome StepCore(StepMessage message, int callerGroup)
    {
        if (Phase >= RunPhase.Finished)
        {
            return new StepOutcome(-1, false);
        }

        var wasStopping = IsStopping;
        _inlineGroup = callerGroup;
        _inlineTask = -1;
        _toStart = -1;
        _moreToStart.Clear();

        try
        {
            // A stop may be requested on another thread while a task it cancelled is already finishing here; the
            // task's dependents must end cancelled, not skipped.
            if (Reason != StopReason.None)
            {
                Stop();
            }

            switch (message.Kind)
            {
                case StepKind.Start:
                    // A run whose caller's token was cancelled already finished in that stop step and takes no step
                    // since. One cancelled while it began is stopping now (the stop above): nothing starts, and it
                    // finishes below with its tasks cancelled. Moving it to running would undo the stop.
                    if (IsStopping)
                    {
                        break;
                    }

                    SetPhase(RunPhase.Running);

                    for (var task = 0; task < _count; task++)
                    {
                        if (_remaining[task] == 0 && !IsRestored(task))
                        {
                            Enqueue(task);
                        }
                    }

                    Restore();
                    break;
                case StepKind.Stop:
                    Stop();
                    break;
                case StepKind.Finished:
                    ReleaseWorker(message.Task);
                    Complete(message.Task, dependentsReleased: message.Tasks is not null);
                    if (message.Tasks is { } madeReady && !IsStopping)
                    {
                        foreach (var next in madeReady)
                        {
                            // Its last release (its count reached zero, or it has one dependency): every dependency is
                            // done and every hard one succeeded (a failed one never releases; a restored task's count
                            // never reaches zero, and in a resumed run every release counts down).
                            if (_tasks.Status[next] == TaskRunStatus.Pending)
                            {
                                Enqueue(next);
                            }
                        }
                    }

                    break;
                case StepKind.Released:
                    ReleaseWorker(message.Task);
                    _awaitingDurable++;
                    if (_tasks.Status[message.Task].IsSuccess() && !IsStopping)
                    {
                        // Its dependents may start now: the journal writes entries in the order they came, so theirs
                        // can never be durable before this one (see FlowRun.FinishJournaled).
                        Resolve(message.Task);
                    }

                    break;
                case StepKind.Freed:
                    Interlocked.Decrement(ref _running);
                    ParallelFlowPool.Release(this, 0);
                    break;
                case StepKind.Durable:
                    foreach (var task in message.Tasks!)
                    {
                        // A success was resolved when it was released — or a stop came first, and then never is.
                        _awaitingDurable--;
                        Complete(task, dependentsReleased: _tasks.Status[task].IsSuccess());
                    }

                    break;
            }

            Dispatch();
            SkipUnaffordable();

            // A stop asked for from inside this step (a host's logger or callback, on this thread) takes effect now;
            // the caller cancels the running tasks once it has left the gate (StepOutcome.Stopped).
            if (Reason != StopReason.None)
            {
                Stop();
            }

            if (_releasedSlot > 0 && _freeSlots.TryPeek(out var free) && free == _releasedSlot)
            {
                Emit(RunEventKind.WorkerIdle, worker: _releasedSlot);
            }

            _releasedSlot = 0;
            if (Volatile.Read(ref _finished.Value) == _count || (IsStopping && Volatile.Read(ref _running) == 0 && _awaitingDurable == 0))
            {
                Finish();
            }

            return new StepOutcome(_inlineTask, !wasStopping && IsStopping, _toStart, _moreToStart.Count == 0 ? null : [.. _moreToStart]);
        }
#pragma warning disable CA1031 // An engine bug must end the run visibly, never leave it hanging.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _events?.Writer.TryComplete(ex);
            _fault = ex;
            _sizeTimer?.Dispose();
            try
            {
                EndTelemetry("faulted");
            }
#pragma warning disable CA1031 // A listener that throws must not keep the faulted run from finishing.
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            Pool?.Leave(this);
            SetPhase(RunPhase.Finished);
            // Tasks this step counted as running are handed over all the same: their outcomes end the run's workers.
            return new StepOutcome(-1, false, _toStart, _moreToStart.Count == 0 ? null : [.. _moreToStart]);
        }
    }

    private void SetPhase(RunPhase phase)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread, "The phase moves under the gate.");
        Debug.Assert(phase > Phase, $"The phase only moves forward: {Phase} → {phase}.");
        // A full fence: a lane run's thread gives a worker back, then reads the phase; a step moves the phase, then
        // reads how many run. One of the two must see the other's write (FlowRun.Lane).
        Interlocked.Exchange(ref _phase, (int)phase);
    }

    /// <summary>A task's worker is free: the task leaves the running counts, gives back its budget reservation and worker
    /// slot, and its duration feeds the observed estimates.</summary>
    private void ReleaseWorker(int task)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        // Atomic: a lane run takes and gives back workers outside the gate too, and counts no worker type apart.
        Interlocked.Decrement(ref _running);
        if (_lane is null)
        {
            _groupRunning[_plan.Group[task]]--;
        }

        // In a step: its dispatch, next, returns the slot to the pool and wakes the runs waiting for one once this run
        // has had its turn.
        if (Pool is not null)
        {
            ParallelFlowPool.Release(this, _plan.Group[task]);
        }

        if (_budget is not null)
        {
            _budget.Settle(task, _tasks.Status[task] == TaskRunStatus.Cached ? default : _tasks.Results[task]?.Usage ?? default);
            foreach (var waiting in _waitingForBudget!)
            {
                _ready.Add(waiting);
            }

            _waitingForBudget.Clear();
        }

        if (_ready.LearnsDurations && _tasks.Status[task] == TaskRunStatus.Succeeded && _tasks.Attempts[task] > 0)
        {
            _ready.Observe(task, Duration(task).TotalSeconds, Volatile.Read(ref _finished.Value));
        }

        ReleaseSlot(task);
    }

    /// <summary>A task counts as finished: it is announced, and its dependents are released (or skipped) unless that
    /// was done already.</summary>
    private void Complete(int task, bool dependentsReleased)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        var status = _tasks.Status[task];
        if (_events is not null)
        {
            // Its arguments are read only for someone watching: a wide run's rows are not in the cache.
            Emit(RunEventKind.TaskFinished, task, _tasks.Slots?[task] ?? 0, _tasks.Attempts[task], status, _tasks.Errors[task]);
        }
        if (_measured && Diagnostics.EngineTelemetry.MeasuresTasks)
        {
            Diagnostics.EngineTelemetry.TaskFinished(_plan.Tasks[task].Worker, status.ToName(), Duration(task), status == TaskRunStatus.Succeeded ? _tasks.Results[task]?.Usage ?? default : default);
        }

        if (!status.IsSuccess())
        {
            _context.Log.TaskDidNotSucceed(RunId, _plan.Tasks[task].Id, status, _tasks.Errors[task]);
        }

        Interlocked.Increment(ref _finished.Value);
        if (!status.IsSuccess() && status != TaskRunStatus.Cancelled && _plan.Definition.OnFailure == Plans.FailurePolicy.FailFast)
        {
            // The first reason wins: a cancel that came first (on another thread, during this step) stays the reason,
            // but the run stops here either way. The step's caller cancels the running tasks once it has left the gate.
            Interlocked.CompareExchange(ref _stopReason, (int)StopReason.FailedFast, (int)StopReason.None);
            Stop();
        }

        if (!IsStopping && !dependentsReleased)
        {
            Resolve(task);
        }
    }

    /// <summary>One of a task's dependencies is done with it (it succeeded, or its soft edge is resolved): true when it
    /// was the last. A task with one dependency is ready at its release without its count being touched at all (a
    /// chain's every step, a tree's every node); not in a resumed run, whose restored tasks' counts are set so that no
    /// release reaches zero. Any other count is decremented at once, without reading it first: a read then a write of
    /// a count another core's release wrote moves its cache line twice, and on a host whose cores are far apart each
    /// move costs 150 ns or more (benchmarks/results). The decrement is a full fence, so what the other releases wrote
    /// before theirs (their results) is seen.</summary>
    /// <param name="task">The dependent.</param>
    /// <param name="sole">Whether the releasing edge is the dependent's only one (<see cref="Plans.PlanGraph.SuccessorIsSole"/>,
    /// read beside the edge).</param>
    private bool Release(int task, bool sole) => (sole && _restored is null) || Interlocked.Decrement(ref _remaining[task]) == 0;

    /// <summary>Releases the dependents of a finished task: a dependent whose dependencies are all done becomes ready;
    /// one with a hard dependency that did not succeed is skipped, and so are its own dependents, transitively.</summary>
    private void Resolve(int finishedTask)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        var graph = _plan.Graph;
        var status = _tasks.Status;
        _resolveStack.Push(finishedTask);
        while (_resolveStack.TryPop(out var task))
        {
            var succeeded = status[task].IsSuccess();
            for (var edge = graph.SuccessorStart[task]; edge < graph.SuccessorStart[task + 1]; edge++)
            {
                var next = graph.Successors[edge];
                if (status[next] != TaskRunStatus.Pending)
                {
                    continue;
                }

                if (graph.SuccessorIsHard[edge] && !succeeded)
                {
                    _tasks.End(next, TaskRunStatus.Skipped, FailureKind.Dependency, $"dependency '{_plan.Tasks[task].Id}' {status[task].ToName()}");
                    Interlocked.Increment(ref _finished.Value);
                    EmitNeverRan(next, TaskRunStatus.Skipped);
                    _resolveStack.Push(next);
                }
                else if (Release(next, graph.SuccessorIsSole[edge]))
                {
                    // Released as a success does (FinishTask), which decrements outside the gate.
                    Enqueue(next);
                }
            }
        }
    }

    private bool IsRestored(int task) => _restored?.ContainsKey(_plan.Tasks[task].Id) == true;

    /// <summary>Ends the tasks a resumed run already has outputs for, and releases their dependents.</summary>
    private void Restore()
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        if (_restored is null)
        {
            return;
        }

        for (var task = 0; task < _count; task++)
        {
            if (_restored.TryGetValue(_plan.Tasks[task].Id, out var result))
            {
                _tasks.Status[task] = TaskRunStatus.Succeeded;
                _tasks.Results[task] = _context.Secrets.IsEmpty ? result : _context.Secrets.Redact(result);
                // Final already: no release of a dependency that runs again may bring its count to zero (FinishTask).
                _remaining[task] = int.MaxValue;
                Interlocked.Increment(ref _finished.Value);
                Emit(RunEventKind.TaskFinished, task, status: TaskRunStatus.Succeeded, message: "restored from the journal");
            }
        }

        for (var task = 0; task < _count; task++)
        {
            if (_tasks.Status[task] == TaskRunStatus.Succeeded && _tasks.Results[task] is not null && _tasks.Attempts[task] == 0)
            {
                Resolve(task);
            }
        }
    }

    /// <summary>Announces a task that reached its final status without running (skipped, or cancelled before it started).</summary>
    private void EmitNeverRan(int task, TaskRunStatus status)
    {
        Emit(RunEventKind.TaskFinished, task, status: status, message: _tasks.Errors[task]);
        if (_measured && Diagnostics.EngineTelemetry.MeasuresTasks)
        {
            Diagnostics.EngineTelemetry.TaskFinished(_plan.Tasks[task].Worker, status.ToName(), TimeSpan.Zero, default);
        }

        TraceNeverRan(task);
    }

    /// <summary>A span for a task that reached its final status without an attempt, saying why, when someone traces:
    /// every task of the plan has one under the run's.</summary>
    private void TraceNeverRan(int task)
    {
        if (_taskSpans is null)
        {
            return;
        }

        var definition = _plan.Tasks[task];
        using var span = Diagnostics.EngineTelemetry.StartTask(_runSpan, RunId, definition.Id, definition.Worker, _plan.Wave[task]);
        Diagnostics.EngineTelemetry.EndTask(span, _tasks.Status[task].ToName(), 0, _tasks.FailureKinds[task].ToName(), _tasks.Errors[task], null);
    }

    private void Enqueue(int task)
    {
        if (_tasks.Ready is { } ready)
        {
            ready[task] = Now();
        }

        if (_lane is { } lane)
        {
            lane.Add(_lanePlace![task]);
        }
        else
        {
            _ready.Add(task);
        }

        if (_events is not null)
        {
            Emit(RunEventKind.TaskQueued, task);
        }
    }

    /// <summary>Hands ready tasks to the executor while the limits allow; keeps one of the caller's group for the
    /// caller to run itself.</summary>
    private void Dispatch()
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        if (Pool is not null)
        {
            if (_lane is { } pooledLane)
            {
                DispatchInLanePooled(Pool, pooledLane);
            }
            else
            {
                DispatchPooled(Pool);
            }

            return;
        }

        if (_lane is { } lane)
        {
            DispatchInLane(lane);
            return;
        }

        while (_running < _limit && (!_held || _running == 0) && Phase == RunPhase.Running && _ready.TryTake(_groupRunning, _groupCapacity, out var task, out var group))
        {
            if (_budget is not null && !_budget.TryReserve(task))
            {
                // Waits until a running task settles and frees budget.
                WaitForBudget(task);
                continue;
            }

            StartTask(task, group);
        }
    }

    private void WaitForBudget(int task)
    {
        _waitingForBudget!.Add(task);
        // One event per task that waits: a waiting task is offered again every time a running one settles.
        if (_runSpan is not null && !(_budgetWaitTraced ??= new bool[_count])[task])
        {
            _budgetWaitTraced[task] = true;
            Diagnostics.EngineTelemetry.BudgetWait(_runSpan, _plan.Tasks[task].Id, _budget!.Shortfall(task));
        }
    }

    /// <summary>A ready task takes a worker: it counts as running and goes to the executor, or — one task of the
    /// finishing task's own type — is left for the step's caller to run itself.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void StartTask(int task, int group)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        _running++;
        _groupRunning[group]++;
        _peakRunning = Math.Max(_peakRunning, _running);
        _tasks.Status[task] = TaskRunStatus.Running;
        if (_measured && _tasks.Ready is { } ready && ready[task] != 0)
        {
            Diagnostics.EngineTelemetry.Waited(_plan.Tasks[task].Worker, _context.TimeProvider.GetElapsedTime(ready[task], Now()));
        }

        var slot = TakeSlot(task);
        if (_events is not null)
        {
            Emit(RunEventKind.WorkerBusy, task, slot);
        }

        HandOut(task, group);
    }

    /// <summary>A task counted as running goes to the step's caller (one of the caller's own group) or, once the step
    /// has left the gate, to the executor.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void HandOut(int task, int group)
    {
        // The finishing task keeps one ready task of its own type and runs it itself: handing it over would start
        // a second processing task on another core for every step of a chain. The counts above still hold it.
        if (group == _inlineGroup && _inlineTask < 0)
        {
            _inlineTask = task;
            return;
        }

        // Handed to the executor once the step has left the gate (StartOutside).
        if (_toStart < 0)
        {
            _toStart = task;
        }
        else
        {
            _moreToStart.Add(task);
        }
    }

    /// <summary>Dispatch in a pool: each task also needs a slot of the pool. A worker type the pool refuses is left for
    /// the rest of this dispatch (others may still have slots); a full pool ends it. The pool wakes the run when a slot
    /// may be its.</summary>
    private void DispatchPooled(ParallelFlowPool pool)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        if (PoolMember is null)
        {
            // Not a member (cancelled while queued): it asks for no slot.
            return;
        }

        List<(int Group, int Capacity)>? refused = null;
        var begun = false;
        try
        {
            DispatchPooledCore(pool, ref refused, ref begun);
        }
        finally
        {
            foreach (var (group, capacity) in refused ?? [])
            {
                _groupCapacity[group] = capacity;
            }

            pool.EndDispatch(this, begun);
        }
    }

    private void DispatchPooledCore(ParallelFlowPool pool, ref List<(int Group, int Capacity)>? refused, ref bool begun)
    {
        while (_running < _limit && (!_held || _running == 0) && Phase == RunPhase.Running && _ready.TryTake(_groupRunning, _groupCapacity, out var task, out var group))
        {
            var grant = pool.TryAcquire(this, group, ref begun);
            if (grant == PoolGrant.Granted && _budget is not null && !_budget.TryReserve(task))
            {
                // Waits until a running task settles and frees budget; the pool's slot goes back.
                pool.GiveBackGranted(this, group);
                WaitForBudget(task);
                continue;
            }

            if (grant != PoolGrant.Granted)
            {
                _ready.Add(task);
                if (grant == PoolGrant.Full)
                {
                    break;
                }

                // The type is closed for this dispatch: its capacity is what runs, until the loop ends.
                (refused ??= []).Add((group, _groupCapacity[group]));
                _groupCapacity[group] = _groupRunning[group];
                continue;
            }

            StartTask(task, group);
        }
    }

    /// <summary>
    /// With nothing running, no reservation can be given back: the tasks waiting for budget that still do not fit
    /// are skipped, highest priority considered first, and their dependents with them.
    /// </summary>
    private void SkipUnaffordable()
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        while (_waitingForBudget is { Count: > 0 } && _running == 0 && !IsStopping)
        {
            var waiting = _waitingForBudget.OrderBy(t => _plan.Rank[t]).ToList();
            _waitingForBudget.Clear();
            foreach (var task in waiting)
            {
                if (_budget!.CanEverReserve(task))
                {
                    _ready.Add(task);
                    continue;
                }

                _tasks.End(task, TaskRunStatus.Skipped, FailureKind.Budget, $"budget exhausted: the task needs {_budget.Shortfall(task)}");
                Interlocked.Increment(ref _finished.Value);
                EmitNeverRan(task, TaskRunStatus.Skipped);
                Resolve(task);
            }

            Dispatch();
        }
    }

    /// <summary>Moves the run to <see cref="RunPhase.Stopping"/>: ready tasks, and those waiting for budget, end cancelled.</summary>
    private void Stop()
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        if (IsStopping)
        {
            return;
        }

        SetPhase(RunPhase.Stopping);
        if (_waitingForBudget is not null)
        {
            foreach (var task in _waitingForBudget)
            {
                MarkCancelled(task);
            }

            _waitingForBudget.Clear();
        }

        while (_ready.TryTakeAny(out var task))
        {
            MarkCancelled(task);
        }

        // A lane's task added after this (by a success finishing outside the gate) stays pending, and ends cancelled
        // when the run finishes.
        while (_lane is { } lane && lane.TryTake(out var place))
        {
            MarkCancelled(_laneTasks![place]);
        }
    }

    private void MarkCancelled(int task)
    {
        _tasks.End(task, TaskRunStatus.Cancelled, FailureKind.Cancelled, Reason switch
        {
            StopReason.FailedFast => "cancelled: the run failed fast",
            StopReason.WallTime => $"cancelled before it started: the run's wall-time budget ({_budgetSettings!.WallSeconds:0.###}s) ran out",
            _ => "cancelled before it started",
        });
        Interlocked.Increment(ref _finished.Value);
        EmitNeverRan(task, TaskRunStatus.Cancelled);
    }

    /// <summary>Every task is final (or the run stopped and nothing runs): builds the result and moves to
    /// <see cref="RunPhase.Finished"/>.</summary>
    private void Finish()
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        for (var task = 0; task < _count; task++)
        {
            if (_tasks.Status[task] == TaskRunStatus.Pending)
            {
                MarkCancelled(task);
            }
        }

        _executor.Complete();
        ThreadWake.Process.RunFinished(System.Diagnostics.Stopwatch.GetTimestamp());
        Pool?.Leave(this);
        _wallTimer?.Dispose();
        _sizeTimer?.Dispose();
        var result = BuildResult(Now());
        _context.Log.RunFinished(RunId, result.Status, result.Elapsed);
        // Named without Enum.ToString, which boxes and then lower-cases into a new string on every run.
        var status = result.Status switch { RunStatus.Succeeded => "succeeded", RunStatus.Failed => "failed", _ => "cancelled" };
        EndTelemetry(status);
        Emit(RunEventKind.RunFinished, message: status);
        _events?.Writer.TryComplete();
        _result = result;
        SetPhase(RunPhase.Finished);
    }

    /// <summary>
    /// Completes <see cref="Completion"/> once the run has ended. Called after every scheduling step, outside the gate:
    /// the awaiting code then continues on this thread with no lock held, instead of after a hop through the thread
    /// pool, and disposing the caller's token registration — which waits for a cancellation callback running on
    /// another thread, and that callback takes the gate — cannot deadlock.
    /// </summary>
    private void PublishOutcome()
    {
        Debug.Assert(!_gate.IsHeldByCurrentThread, "Completion's continuations must not run under the gate.");
        if (Phase != RunPhase.Finished ||
            Interlocked.CompareExchange(ref _phase, (int)RunPhase.Published, (int)RunPhase.Finished) != (int)RunPhase.Finished)
        {
            return;
        }

        _callerRegistration.Dispose();
        if (_fault is { } fault)
        {
            _completion.TrySetException(fault);
        }
        else
        {
            _completion.TrySetResult(_result!);
        }
    }

    /// <summary>Ends the run's span with its counts, and takes the run out of the gauges.</summary>
    private void EndTelemetry(string status)
    {
        if (_gauged)
        {
            _gauged = false;
            Diagnostics.EngineTelemetry.RunEnded(this);
        }

        if (_runSpan is { } span)
        {
            // Ended once, even if the engine faults after this.
            _runSpan = null;
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var task = 0; task < _count; task++)
            {
                var name = _tasks.Status[task].ToName();
                counts[name] = counts.GetValueOrDefault(name) + 1;
            }

            Diagnostics.EngineTelemetry.EndRun(span, status, counts);
        }
    }

    // Worker slots are numbered 1..workers and reused lowest-first, so events and live views can show which
    // worker ran what; they are only tracked when someone watches the events.
    private int TakeSlot(int task)
    {
        if (_events is null && _tasks.AttemptLogs is null)
        {
            return 0;
        }

        _tasks.Slots ??= new int[_count];
        var slot = _freeSlots.TryPop(out var free) ? free : _nextSlot++;
        _tasks.Slots[task] = slot;
        return slot;
    }

    private void ReleaseSlot(int task)
    {
        if (_tasks.Slots is null)
        {
            return;
        }

        var slot = _tasks.Slots[task];
        _freeSlots.Push(slot);
        _releasedSlot = slot;
    }
}
