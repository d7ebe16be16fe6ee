using System.Threading.Tasks.Dataflow;
using ParallelFlow.Engine.Diagnostics;

namespace ParallelFlow.Engine.Execution;

/// <summary>The scheduling step: runs under the run's gate, one task at a time, and owns the state below.</summary>
public sealed partial class FlowRun
{
    /// <summary>What a scheduling step is about.</summary>
    private enum StepKind
    {
        /// <summary>The run starts: the tasks without dependencies become ready.</summary>
        Start,

        /// <summary>A stop was requested: ready tasks end cancelled.</summary>
        Stop,

        /// <summary>A task ended: its worker is free, and it counts as finished.</summary>
        Finished,

        /// <summary>A task ended and its worker is free, but it counts as finished only once its journal entry is durable.</summary>
        Released,

        /// <summary>The journal entries of released tasks are durable: they count as finished now.</summary>
        Durable,
    }

    /// <summary>A message to the scheduling step.</summary>
    private readonly record struct StepMessage(StepKind Kind, int Task = -1, List<int>? Tasks = null);

    private readonly int[] _remaining;
    private readonly PriorityQueue<int, long>[] _ready;
    private readonly int[] _groupRunning;
    private readonly int[] _groupCapacity;
    private readonly Stack<int> _freeSlots = new();
    private readonly Stack<int> _resolveStack = new();
    private int[]? _slotOfTask;
    private int _nextSlot = 1;
    private int _running;
    private int _peakRunning;
    private int _finished;
    private int _awaitingDurable;
    private bool _stopping;
    private volatile bool _stopRequested;
    private int _releasedSlot;
    private bool _failedFast;
    private bool _done;
    private bool _cancelAfterStep;
    private int _inlineGroup = -1;
    private int _inlineTask = -1;
    private object? _outcome;
    private int _published;

    /// <summary>The scheduling step, run under the gate: apply a change (start, stop, or a task finished), hand ready
    /// tasks to workers, and finish the run when every task is final. An engine bug ends the run visibly rather than leaving it hanging.</summary>
    /// <returns>A task the caller (a finishing task of <paramref name="callerGroup"/>) should run next itself, or −1.</returns>
    private int Step(StepMessage message, int callerGroup = -1)
    {
        if (_done)
        {
            return -1;
        }

        _inlineGroup = callerGroup;
        _inlineTask = -1;

        try
        {
            // A stop may be requested on another thread while a task it cancelled is already finishing here; the
            // task's dependents must end cancelled, not skipped.
            if (_stopRequested)
            {
                Stop();
            }

            switch (message.Kind)
            {
                case StepKind.Start:
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
                    Complete(message.Task, dependentsReleased: false);
                    break;
                case StepKind.Released:
                    ReleaseWorker(message.Task);
                    _awaitingDurable++;
                    if (_status[message.Task].IsSuccess() && !_stopping)
                    {
                        // Its dependents may start now: the journal writes entries in the order they came, so theirs
                        // can never be durable before this one (see FlowRun.FinishJournaled).
                        Resolve(message.Task);
                    }

                    break;
                case StepKind.Durable:
                    foreach (var task in message.Tasks!)
                    {
                        // A success was resolved when it was released — or a stop came first, and then never is.
                        _awaitingDurable--;
                        Complete(task, dependentsReleased: _status[task].IsSuccess());
                    }

                    break;
            }

            Dispatch();
            SkipUnaffordable();
            if (_releasedSlot > 0 && _freeSlots.TryPeek(out var free) && free == _releasedSlot)
            {
                Emit(RunEventKind.WorkerIdle, worker: _releasedSlot);
            }

            _releasedSlot = 0;
            if (_finished == _count || (_stopping && _running == 0 && _awaitingDurable == 0))
            {
                Finish();
            }

            return _inlineTask;
        }
#pragma warning disable CA1031 // An engine bug must end the run visibly, never leave it hanging.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _done = true;
            _events?.Writer.TryComplete(ex);
            _outcome = ex;
            return -1;
        }
    }

    /// <summary>A task's worker is free: the task leaves the running counts, gives back its budget reservation and worker
    /// slot, and its duration feeds the observed estimates.</summary>
    private void ReleaseWorker(int task)
    {
        _running--;
        _groupRunning[_plan.Group[task]]--;
        if (_budget is not null)
        {
            _budget.Settle(task, _status[task] == TaskRunStatus.Cached ? default : _results[task]?.Usage ?? default);
            foreach (var waiting in _waitingForBudget!)
            {
                _ready[_plan.Group[waiting]].Enqueue(waiting, RankOf(waiting));
            }

            _waitingForBudget.Clear();
        }

        Observe(task);
        ReleaseSlot(task);
    }

    /// <summary>A task counts as finished: it is announced, and its dependents are released (or skipped) unless that
    /// was done already.</summary>
    private void Complete(int task, bool dependentsReleased)
    {
        var status = _status[task];
        Emit(RunEventKind.TaskFinished, task, _slotOfTask?[task] ?? 0, _attempts[task], status, _errors[task]);
        EngineMetrics.TaskFinished(_plan.Tasks[task].Worker, status, Duration(task));
        if (!status.IsSuccess())
        {
            _context.Log.TaskDidNotSucceed(RunId, _plan.Tasks[task].Id, status, _errors[task]);
        }

        _finished++;
        if (!status.IsSuccess() && status != TaskRunStatus.Cancelled && _plan.Definition.OnFailure == Plans.FailurePolicy.FailFast && !_stopping)
        {
            _failedFast = true;
            _stopRequested = true;
            _cancelAfterStep = true;
            Stop();
        }

        if (!_stopping && !dependentsReleased)
        {
            Resolve(task);
        }
    }

    /// <summary>Releases the dependents of a finished task: a dependent whose dependencies are all done becomes ready;
    /// one with a hard dependency that did not succeed is skipped, and so are its own dependents, transitively.</summary>
    private void Resolve(int finishedTask)
    {
        var graph = _plan.Graph;
        _resolveStack.Push(finishedTask);
        while (_resolveStack.TryPop(out var task))
        {
            var succeeded = _status[task].IsSuccess();
            for (var edge = graph.SuccessorStart[task]; edge < graph.SuccessorStart[task + 1]; edge++)
            {
                var next = graph.Successors[edge];
                if (_status[next] != TaskRunStatus.Pending)
                {
                    continue;
                }

                if (graph.SuccessorIsHard[edge] && !succeeded)
                {
                    _status[next] = TaskRunStatus.Skipped;
                    _failureKinds[next] = FailureKind.Dependency;
                    _errors[next] = $"dependency '{_plan.Tasks[task].Id}' {_status[task].ToName()}";
                    _finished++;
                    Emit(RunEventKind.TaskFinished, next, status: TaskRunStatus.Skipped, message: _errors[next]);
                    _resolveStack.Push(next);
                }
                else if (--_remaining[next] == 0)
                {
                    Enqueue(next);
                }
            }
        }
    }

    private bool IsRestored(int task) => _restored?.ContainsKey(_plan.Tasks[task].Id) == true;

    /// <summary>Ends the tasks a resumed run already has outputs for, and releases their dependents.</summary>
    private void Restore()
    {
        if (_restored is null)
        {
            return;
        }

        for (var task = 0; task < _count; task++)
        {
            if (_restored.TryGetValue(_plan.Tasks[task].Id, out var result))
            {
                _status[task] = TaskRunStatus.Succeeded;
                _results[task] = _context.Secrets.IsEmpty ? result : _context.Secrets.Redact(result);
                _finished++;
                Emit(RunEventKind.TaskFinished, task, status: TaskRunStatus.Succeeded, message: "restored from the journal");
            }
        }

        for (var task = 0; task < _count; task++)
        {
            if (_status[task] == TaskRunStatus.Succeeded && _results[task] is not null && _attempts[task] == 0)
            {
                Resolve(task);
            }
        }
    }

    private void Enqueue(int task)
    {
        _ready[_plan.Group[task]].Enqueue(task, RankOf(task));
        Emit(RunEventKind.TaskQueued, task);
    }

    private void Dispatch()
    {
        var groups = _ready.Length;
        while (_running < _workers && !_stopping)
        {
            var best = -1;
            var bestRank = long.MaxValue;
            for (var g = 0; g < groups; g++)
            {
                if (_groupRunning[g] < _groupCapacity[g] && _ready[g].TryPeek(out _, out var rank) && (best < 0 || RanksBefore(rank, bestRank)))
                {
                    (best, bestRank) = (g, rank);
                }
            }

            if (best < 0)
            {
                return;
            }

            var task = _ready[best].Dequeue();
            if (_budget is not null && !_budget.TryReserve(task))
            {
                // Waits until a running task settles and frees budget.
                _waitingForBudget!.Add(task);
                continue;
            }

            _running++;
            _groupRunning[best]++;
            _peakRunning = Math.Max(_peakRunning, _running);
            _status[task] = TaskRunStatus.Running;
            var slot = TakeSlot(task);
            Emit(RunEventKind.WorkerBusy, task, slot);

            // The finishing task keeps one ready task of its own type and runs it itself: posting it would start a
            // second processing task on another core for every step of a chain. The count above still holds it.
            if (best == _inlineGroup && _inlineTask < 0)
            {
                _inlineTask = task;
                continue;
            }

            if (!_execution[best].Post(task))
            {
                // Not expected (see the capacity note in the constructor); queue it rather than lose it.
                _ = _execution[best].SendAsync(task);
            }
        }
    }

    /// <summary>
    /// With nothing running, no reservation can be given back: the tasks waiting for budget that still do not fit
    /// are skipped, highest priority considered first, and their dependents with them.
    /// </summary>
    private void SkipUnaffordable()
    {
        while (_waitingForBudget is { Count: > 0 } && _running == 0 && !_stopping)
        {
            var waiting = _waitingForBudget.OrderBy(t => _plan.Rank[t]).ToList();
            _waitingForBudget.Clear();
            foreach (var task in waiting)
            {
                if (_budget!.CanEverReserve(task))
                {
                    _ready[_plan.Group[task]].Enqueue(task, RankOf(task));
                    continue;
                }

                _status[task] = TaskRunStatus.Skipped;
                _failureKinds[task] = FailureKind.Budget;
                _errors[task] = $"budget exhausted: the task needs {_budget.Shortfall(task)}";
                _finished++;
                Emit(RunEventKind.TaskFinished, task, status: TaskRunStatus.Skipped, message: _errors[task]);
                Resolve(task);
            }

            Dispatch();
        }
    }

    private void Stop()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        if (_waitingForBudget is not null)
        {
            foreach (var task in _waitingForBudget)
            {
                MarkCancelled(task);
            }

            _waitingForBudget.Clear();
        }
        foreach (var queue in _ready)
        {
            while (queue.TryDequeue(out var task, out _))
            {
                MarkCancelled(task);
            }
        }
    }

    private void MarkCancelled(int task)
    {
        _status[task] = TaskRunStatus.Cancelled;
        _failureKinds[task] = FailureKind.Cancelled;
        _errors[task] = _failedFast ? "cancelled: the run failed fast" : _wallExhausted ? $"cancelled before it started: the run's wall-time budget ({_budgetSettings!.WallSeconds:0.###}s) ran out" : "cancelled before it started";
        _finished++;
        Emit(RunEventKind.TaskFinished, task, status: TaskRunStatus.Cancelled, message: _errors[task]);
    }

    private void Finish()
    {
        _done = true;
        for (var task = 0; task < _count; task++)
        {
            if (_status[task] == TaskRunStatus.Pending)
            {
                MarkCancelled(task);
            }
        }

        foreach (var block in _execution)
        {
            block.Complete();
        }

        _wallTimer?.Dispose();
        var result = BuildResult(_context.TimeProvider.GetTimestamp());
        _context.Log.RunFinished(RunId, result.Status, result.Elapsed);
        Emit(RunEventKind.RunFinished, message: result.Status.ToString().ToLowerInvariant());
        _events?.Writer.TryComplete();
        _outcome = result;
    }

    /// <summary>
    /// Completes <see cref="Completion"/> once the run has ended. Called after every scheduling step, outside the gate:
    /// the awaiting code then continues on this thread with no lock held, instead of after a hop through the thread
    /// pool, and disposing the caller's token registration — which waits for a cancellation callback running on
    /// another thread, and that callback takes the gate — cannot deadlock.
    /// </summary>
    private void PublishOutcome()
    {
        if (Volatile.Read(ref _outcome) is not { } outcome || Interlocked.Exchange(ref _published, 1) != 0)
        {
            return;
        }

        _callerRegistration.Dispose();
        if (outcome is Exception exception)
        {
            _completion.TrySetException(exception);
        }
        else
        {
            _completion.TrySetResult((RunResult)outcome);
        }
    }

    // Worker slots are numbered 1..workers and reused lowest-first, so events and live views can show which
    // worker ran what; they are only tracked when someone watches the events.
    private int TakeSlot(int task)
    {
        if (_events is null)
        {
            return 0;
        }

        _slotOfTask ??= new int[_count];
        var slot = _freeSlots.TryPop(out var free) ? free : _nextSlot++;
        _slotOfTask[task] = slot;
        return slot;
    }

    private int ReleaseSlot(int task)
    {
        if (_slotOfTask is null)
        {
            return 0;
        }

        var slot = _slotOfTask[task];
        _freeSlots.Push(slot);
        _releasedSlot = slot;
        return slot;
    }
}
