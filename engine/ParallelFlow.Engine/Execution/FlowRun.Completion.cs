namespace ParallelFlow.Engine.Execution;

/// <summary>Turning the run's arrays into its <see cref="RunResult"/>.</summary>
public sealed partial class FlowRun
{
    private RunResult BuildResult(long endTimestamp)
    {
        System.Diagnostics.Debug.Assert(_gate.IsHeldByCurrentThread);
        var allSucceeded = true;
        for (var i = 0; i < _count && allSucceeded; i++)
        {
            allSucceeded = _tasks.Status[i].IsSuccess();
        }

        // A stop that came once every task had succeeded (with a journal, while their last entries were written)
        // cancelled nothing: the run succeeded.
        var status = allSucceeded ? RunStatus.Succeeded
            : Reason switch
            {
                StopReason.FailedFast or StopReason.None => RunStatus.Failed,
                _ => RunStatus.Cancelled,
            };
        return new RunResult
        {
            RunId = RunId,
            PlanId = _plan.Definition.Id,
            Mode = _plan.Definition.Mode,
            Status = status,
            // No value holds a secret: RunInputs refuses those.
            Inputs = _inputs?.Values ?? RunInputsNone,
            Tasks = new LazyTaskResults(_count, TaskResultOf),
            StartedAt = _runStartedAt,
            Elapsed = _context.TimeProvider.GetElapsedTime(_runStartTimestamp, endTimestamp),
            // An adaptive pool's slots go up to max_workers: the run used as many as the pool grew to.
            Workers = _sizer is { Max: var max } && max != _sizer.Min ? _peakLimit : _workers,
            Pool = _sizer is null ? null : new PoolReport(_sizer.Max != _sizer.Min, _sizer.Min, _sizer.Max, _peakLimit, _resizes ?? []),
            PeakConcurrency = _peakRunning,
            Analysis = _plan.Analysis,
            ObservedCriticalPathSource = ObservedCriticalPath,
            Budget = _budget?.Report(_plan.Tasks),
            Strategy = new StrategyReport(StrategyName, _ready.Reranks, _context.Secrets.RedactOrNull(_ready.StrategyFailure)),
            OnDispose = _givesBackArrays ? ReleaseArrays : null,
        };
    }

    /// <summary>Whether the run gives its per-task arrays back to its plan (see <see cref="RunArrays"/>) once both its
    /// result is disposed and its executor is idle: <see cref="_arrayHolds"/> counts the two down.</summary>
    private readonly bool _givesBackArrays;

    private int _arrayHolds = 2;

    /// <summary>The result was disposed: nothing reads the arrays through it again.</summary>
    private void ReleaseArrays()
    {
        _tasks.Release();
        LetGoOfArrays();
    }

    /// <inheritdoc/>
    void IExecutionHost.ExecutorIdle()
    {
        if (_givesBackArrays)
        {
            LetGoOfArrays();
        }
    }

    private void LetGoOfArrays()
    {
        if (Interlocked.Decrement(ref _arrayHolds) == 0 && _tasks.Arrays(_remaining, _lane ?? _keptLane) is { } arrays)
        {
            _plan.KeepIdleArrays(arrays);
        }
    }

    private TaskRunResult TaskResultOf(int task)
    {
        _tasks.ThrowIfReleased();
        var ran = _tasks.Started[task] != 0 && _tasks.Ended[task] != 0;
        var result = new TaskRunResult
        {
            TaskId = _plan.Tasks[task].Id,
            WorkerType = _plan.Tasks[task].Worker,
            Status = _tasks.Status[task],
            FailureKind = _tasks.FailureKinds[task],
            Attempts = _tasks.Attempts[task],
            Requeued = _tasks.Requeues?[task] ?? 0,
            StartedAt = ran ? At(_tasks.Started[task]) : null,
            FinishedAt = ran ? At(_tasks.Ended[task]) : null,
            Duration = Duration(task),
            Result = _tasks.Results[task],
            PartialOutput = _tasks.PartialOutputs?[task],
            Context = _tasks.ContextReports?[task],
            Error = _tasks.Errors[task],
            Wave = _plan.Wave[task],
            CacheKey = _tasks.CacheKeys?[task],
            DependsOn = _plan.Tasks[task].DependsOn,
            After = _plan.Tasks[task].After,
            ReadyAt = _tasks.Ready is { } ready && ready[task] != 0 ? At(ready[task]) : null,
            AttemptLog = _tasks.AttemptLogs is null
                ? []
                : [.. _tasks.AttemptsOf(task).Select(a => new TaskAttempt(a.Attempt, At(a.Started), At(a.Ended == 0 ? _tasks.Ended[task] : a.Ended), a.Slot, a.Status, a.Error, a.RetryDelay))],
        };
        // Again after: a dispose on another thread meanwhile may have let the next run write these rows.
        _tasks.ThrowIfReleased(afterReads: true);
        return result;
    }

    private DateTimeOffset At(long timestamp) => _runStartedAt + _context.TimeProvider.GetElapsedTime(_runStartTimestamp, timestamp);

    /// <summary>The longest chain of dependent tasks by measured duration.</summary>
    private (IReadOnlyList<string> Tasks, double Seconds) ObservedCriticalPath()
    {
        _tasks.ThrowIfReleased();
        var graph = _plan.Graph;
        var finish = new double[_count];
        var previous = new int[_count];
        Array.Fill(previous, -1);
        var end = -1;
        foreach (var task in _plan.Order)
        {
            finish[task] += Duration(task).TotalSeconds;
            if (end < 0 || finish[task] > finish[end])
            {
                end = task;
            }

            foreach (var next in graph.SuccessorsOf(task))
            {
                if (finish[task] > finish[next])
                {
                    finish[next] = finish[task];
                    previous[next] = task;
                }
            }
        }

        var path = new List<string>();
        for (var task = end; task >= 0; task = previous[task])
        {
            path.Add(_plan.Tasks[task].Id);
        }

        path.Reverse();
        _tasks.ThrowIfReleased(afterReads: true);
        return (path, end < 0 ? 0 : finish[end]);
    }
}
