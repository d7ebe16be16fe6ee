using System.Diagnostics;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// The lock-free lane: how a run of one worker type, in a fixed order (the critical path or the shortest first), that
/// keeps nothing per worker (<see cref="_handsOver"/>), schedules its successes without the gate. Its ready tasks sit
/// by place in a set per worker (<see cref="LaneSets"/>), and a worker is a count (<see cref="_running"/>) taken with a
/// compare-and-swap below the limit. A task that succeeded releases its dependents' counts, adds those it made ready
/// to its loop's own set, counts itself finished, and its thread takes the best ready task for its worker, or gives
/// the worker back; free workers are then given the next best tasks on the executor. Everything else (the start, a
/// failure and the skips it brings, a stop, the end) is a step under the gate, as in any run, which uses the same sets
/// and count.
/// <para>In a pool (<see cref="ParallelFlowPool"/>), a worker is also a slot of the pool: a thread keeps its worker for
/// the next task only while no other run waits for a slot, and a worker is taken or given back only in a step, whose
/// dispatch asks the pool (<see cref="DispatchInLanePooled"/>). A success while another run waits is a step as well.</para>
/// </summary>
/// <remarks>
/// No ready task is stranded with a worker free: a thread that adds a task then looks for a free worker, and a thread
/// that gives a worker back then looks for a ready task, each after a full fence, so one of the two sees the other.
/// The priority order holds as in a step, tie by tie: a worker takes no task of a later tie while it sees one of an
/// earlier tie in any set (<see cref="LaneSets"/>' remarks). The run ends
/// in a step under the gate: the thread whose count of finished tasks reaches the task count takes it, and, in a run
/// that stops, every thread that gives a worker back outside the gate takes one, so the last of them finds nothing
/// running.
/// </remarks>
public sealed partial class FlowRun
{
    // The lane's ready tasks by place, each task's place and which task has each place; its worker limit. Null and zero
    // in a run that takes every step under the gate.
    private readonly LaneSets? _lane;
    private readonly int[]? _lanePlace;
    private readonly int[]? _laneTasks;
    private readonly int _laneLimit;

    /// <summary>How short a task must be for its loop to look at the other workers' sets once a window, and the window
    /// (<see cref="LaneSets"/>' remarks): 20 µs, in the run's clock's ticks. Zero when the run's clock is not the
    /// machine's (a clock given to the engine, which tests stop and move by hand): a loop then looks at every
    /// step.</summary>
    private readonly long _laneWindow;

    // The ready sets the run's arrays came with (a lane run's, or none): given back with them.
    private readonly LaneSets? _keptLane;

    /// <summary>How many tasks are ready (without the gate: a count that may be a step behind).</summary>
    private int ReadyCount => _lane?.Count ?? _ready.Count;

    /// <summary>A task of a lane run succeeded: the lane's step for it, without the gate (see the type's remarks).</summary>
    /// <param name="task">The task that succeeded.</param>
    /// <param name="callerGroup">See <see cref="IExecutionHost.Finished(int, int)"/>.</param>
    /// <param name="loop">The calling loop: its count of successes the run has not counted yet; its own ready set
    /// (<see cref="ExecutorLoop.Stripe"/>), claimed here if it has none, given back with its worker; its looks at the
    /// other sets (<see cref="ExecutorLoop.Looks"/>).</param>
    /// <returns>The task this thread runs next on its worker, or −1.</returns>
    private int FinishInLane(int task, int callerGroup, ref ExecutorLoop loop)
    {
        ref var unsettled = ref loop.Unsettled;
        ref var stripe = ref loop.Stripe;
        Debug.Assert(!_gate.IsHeldByCurrentThread);
        var lane = _lane!;
        if (stripe < 0)
        {
            stripe = lane.Claim();
        }

        var own = LaneSets.SetOf(stripe);
        // The loop's time for the sets, when the task it ran was a short one; else 0 (LaneSets.Next). Without a window,
        // or for a caller that keeps no looks, none is.
        var end = _tasks.Ended[task];
        var now = _laneWindow > 0 && end - _tasks.Started[task] < _laneWindow && !loop.Looks.Untimed ? end : 0;

        var place = _lanePlace!;
        var graph = _plan.Graph;
        // The best (lowest place) of the dependents this release made ready is kept for this thread; the others go in
        // its own set.
        var best = -1;
        var handsOn = false;
        for (var edge = graph.SuccessorStart[task]; edge < graph.SuccessorStart[task + 1]; edge++)
        {
            var next = graph.Successors[edge];
            if (!Release(next, graph.SuccessorIsSole[edge]) || _tasks.Status[next] != TaskRunStatus.Pending)
            {
                continue;
            }

            if (best < 0)
            {
                best = next;
                continue;
            }

            if (place[next] < place[best])
            {
                (best, next) = (next, best);
            }

            lane.Add(place[next], own);
            handsOn = true;
        }

        MeasureFinished(task);

        // Counted by the loop, and added to the run's count when its worker is free (below).
        unsettled++;
        var made = best >= 0 ? place[best] : -1;
        // Put: a share of another set's tie went in this loop's own set.
        var taken = lane.Next(own, made, ref handsOn, now, ref loop.Looks);
        // What this thread made ready and does not run went in a set.
        handsOn |= made >= 0 && taken != made;
        var mine = taken >= 0 ? _laneTasks![taken] : -1;
        if (mine >= 0)
        {
            _tasks.Status[mine] = TaskRunStatus.Running;
        }
        else
        {
            // The worker goes back, and with it the loop's set.
            lane.Release(ref stripe);
            if (Settle(ref unsettled))
            {
                // The last task: the run ends in a step.
                Interlocked.Decrement(ref _running);
                return TakeStep(new StepMessage(StepKind.Wake), callerGroup);
            }

            if (Pool is not null)
            {
                // The worker and its pool slot go back in a step, whose dispatch may give them to a ready task again.
                return TakeStep(new StepMessage(StepKind.Freed), callerGroup);
            }

            ReleaseLaneWorker();
        }

        // Only a thread that put a rank in a set or gave its worker back has something to hand on, and did so with an
        // atomic operation, a full fence, before both reads (the type's remarks): a chain's thread reads neither. A free
        // worker first: while every worker is busy (the common case) the sets' counts, which the other workers write,
        // are not read at all.
        if ((handsOn || mine < 0) && Volatile.Read(ref _running) < _laneLimit && lane.Count > 0)
        {
            if (Pool is null)
            {
                StartInLane(lane);
            }
            else if (PoolMember is not { Waits: true })
            {
                // In a pool a worker is taken only in a step, which asks the pool for its slot. Not while the run waits
                // for the pool (refused at its last dispatch): the pool wakes it when a slot could be its
                // (DispatchInLanePooled's remarks).
                TakeStep(new StepMessage(StepKind.Wake), -1);
            }
        }

        if (mine >= 0 && callerGroup != 0)
        {
            // A caller that runs nothing itself (an executor without the inline path): the executor starts it, and
            // this loop ends.
            lane.Release(ref stripe);
            Settle(ref unsettled);
            _executor.Start(mine, 0);
            return -1;
        }

        return mine;
    }

    /// <summary>Adds a loop's finished tasks to the run's count.</summary>
    /// <returns>Whether that made every task finished.</returns>
    /// <remarks>A loop holds a count only while it holds a worker with a next task to run, so when the last task
    /// finishes, every other loop has settled: the loop of the last task is the one whose settling reaches the task
    /// count.</remarks>
    private bool Settle(ref int unsettled)
    {
        if (unsettled == 0)
        {
            return false;
        }

        var finished = Interlocked.Add(ref _finished.Value, unsettled);
        unsettled = 0;
        return finished == _count;
    }

    /// <summary>Gives free workers the best ready tasks, on the executor, outside the gate.</summary>
    private void StartInLane(LaneSets lane)
    {
        while (TryStartInLane(lane, out var task))
        {
            if (task >= 0)
            {
                _executor.Start(task, 0);
            }
        }
    }

    /// <summary>The step's dispatch in a lane run (under the gate): free workers take the best ready tasks; one is left
    /// for the step's caller to run itself.</summary>
    private void DispatchInLane(LaneSets lane)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        while (TryStartInLane(lane, out var task))
        {
            if (task >= 0)
            {
                HandOut(task, 0);
            }
        }
    }

    /// <summary>The step's dispatch in a lane run in a pool (under the gate): each worker taken also takes a slot of
    /// the pool (<see cref="ParallelFlowPool.TryAcquire"/>); the run's one worker type refused, or the pool full, ends
    /// it, and the run then waits for the pool to wake it. A slot is asked for only with a task ready and a worker free,
    /// in a run still running: a run that asked for one it could not use would be counted as waiting, and the other
    /// runs would give up their slots to it.</summary>
    /// <remarks>A lane thread that adds a task while a worker is free takes a step for it, unless the run waits for the
    /// pool (which wakes it). It adds, then reads whether the run waits; this dispatch, once the pool has recorded that
    /// it does not, looks at the set again: one of the two sees the other (each after a full fence).</remarks>
    private void DispatchInLanePooled(ParallelFlowPool pool, LaneSets lane)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        if (PoolMember is null)
        {
            // Not a member (cancelled while queued): it asks for no slot.
            return;
        }

        while (true)
        {
            var begun = false;
            try
            {
                while (lane.Count > 0 && Volatile.Read(ref _running) < _laneLimit && Phase == RunPhase.Running && pool.TryAcquire(this, 0, ref begun) == PoolGrant.Granted)
                {
                    var more = TryStartInLane(lane, out var task);
                    if (task >= 0)
                    {
                        HandOut(task, 0);
                        continue;
                    }

                    // No task for the slot: another thread took the one seen (look again), or no worker is free,
                    // nothing is ready or the run stops (the dispatch ends).
                    pool.GiveBackGranted(this, 0);
                    if (!more)
                    {
                        break;
                    }
                }
            }
            finally
            {
                pool.EndDispatch(this, begun);
            }

            Interlocked.MemoryBarrier();
            if (PoolMember is not { Left: false, Waits: false } || lane.Count == 0 || Volatile.Read(ref _running) >= _laneLimit || Phase != RunPhase.Running)
            {
                return;
            }
        }
    }

    /// <summary>One turn of a dispatch in the lane, under the gate or not: while a task is ready and a worker free, the
    /// worker takes the best ready task, counted as running.</summary>
    /// <param name="lane">The run's ready sets.</param>
    /// <param name="task">The task, or −1 when another thread took the last one first (the caller looks again).</param>
    /// <returns>False once nothing is ready, no worker is free, or the run is no longer running.</returns>
    private bool TryStartInLane(LaneSets lane, out int task)
    {
        task = -1;
        if (lane.Count == 0 || Phase != RunPhase.Running || !TryTakeLaneWorker(out var running))
        {
            return false;
        }

        // Read again now that the worker counts: outside the gate, a stop whose step read the running count before
        // this took a worker may have finished the run meanwhile (the compare-and-swap and the phase's exchange are
        // full fences, so a step after this read sees the worker, and the run cannot finish while it is held).
        var stopped = Phase != RunPhase.Running;
        if (stopped || !lane.TryTake(out var place))
        {
            // Stopping, or taken by another thread meanwhile.
            if (_gate.IsHeldByCurrentThread)
            {
                // The step's own end reads the running count.
                Interlocked.Decrement(ref _running);
            }
            else
            {
                ReleaseLaneWorker();
            }

            return !stopped;
        }

        NotePeak(running);
        task = _laneTasks![place];
        _tasks.Status[task] = TaskRunStatus.Running;
        return true;
    }

    /// <summary>Takes a worker if one is free.</summary>
    /// <param name="taken">How many workers are taken, this one included.</param>
    private bool TryTakeLaneWorker(out int taken)
    {
        var running = Volatile.Read(ref _running);
        while (running < _laneLimit)
        {
            var seen = Interlocked.CompareExchange(ref _running, running + 1, running);
            if (seen == running)
            {
                taken = running + 1;
                return true;
            }

            running = seen;
        }

        taken = running;
        return false;
    }

    /// <summary>A worker taken for a task: the peak of tasks running at once counts it (not a worker taken for a task
    /// another thread took first).</summary>
    private void NotePeak(int running)
    {
        var peak = Volatile.Read(ref _peakRunning);
        while (running > peak && Interlocked.CompareExchange(ref _peakRunning, running, peak) is var was && was != peak)
        {
            peak = was;
        }
    }

    /// <summary>Counts a task finished in the engine's metrics, outside a step: a listener that throws must not end the
    /// loop that called it, which holds a worker (and under the gate it would fault the run).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void MeasureFinished(int task)
    {
        // Checked where it is called (once per task): a call only when someone measures.
        if (_measured && Diagnostics.EngineTelemetry.MeasuresTasks)
        {
            MeasureFinishedNow(task);
        }
    }

    private void MeasureFinishedNow(int task)
    {
        try
        {
            Diagnostics.EngineTelemetry.TaskFinished(_plan.Tasks[task].Worker, _tasks.Status[task].ToName(), Duration(task), _tasks.Results[task]?.Usage ?? default);
        }
#pragma warning disable CA1031 // The task's outcome stands; only its measurement is lost.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Gives a worker back outside the gate. In a run that stops, a step follows: the run ends once nothing
    /// runs, and this may have been the last worker.</summary>
    private void ReleaseLaneWorker()
    {
        Debug.Assert(!_gate.IsHeldByCurrentThread);
        Interlocked.Decrement(ref _running);
        if (IsStopping)
        {
            TakeStep(new StepMessage(StepKind.Wake), -1);
        }
    }
}
