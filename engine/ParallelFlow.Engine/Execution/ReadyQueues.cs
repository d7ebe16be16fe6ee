using System.Diagnostics;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// A run's ready tasks, one queue per worker type, in the order of the run's strategy; and how that order follows the
/// durations observed. Owned by the scheduling step: every member runs under the run's gate.
/// </summary>
/// <remarks>
/// Built-in strategies rank by a precomputed <see cref="long"/> key. Where that key is a fixed place per task (the
/// critical path, the shortest first) the queue is a <see cref="RankedSet"/> of places; the others keep a binary heap. A plugin's strategy ranks by its comparison, with
/// the task index as the queue's key and ties broken by ready order. Each worker type keeps the ratio of the time its
/// finished tasks took to what they were expected to take; at the 1st, 2nd, 4th, 8th… finished task, when a ratio
/// moved by more than a quarter since the last ranking, the remaining paths are recomputed with the corrected
/// estimates and the queues re-ranked. That is at most log₂(tasks) recomputations of O(tasks + edges), and none for a
/// critical-path run of a single worker type, where one ratio scales every path alike and leaves the order as is.
/// </remarks>
internal sealed class ReadyQueues
{
    private const double RerankDrift = 0.25;

    private readonly CompiledPlan _plan;
    private readonly Lock _gate;
    private readonly PriorityQueue<int, long>[] _queues;

    // Instead of _queues, for the strategies that give every task a fixed place: the ready tasks' places by group (made
    // on first use), and which task has each place.
    private readonly RankedSet?[]? _sets;
    private int[]? _byPlace;
    private readonly BuiltInStrategy _strategy;
    private readonly PluginOrder? _pluginOrder;
    private readonly EngineLog _log;
    private readonly string _runId;
    private long _readyCounter;
    private readonly long[]? _readyOrder;
    private int[]? _rank;
    private double[]? _bottomLevel;
    private readonly double[]? _observedSeconds;
    private readonly double[]? _observedEstimate;
    private double[]? _factor;
    private int _nextRerankCheck = 1;

    /// <param name="plan">The plan.</param>
    /// <param name="strategyName">The run's strategy: built in, or one the plan's catalog has.</param>
    /// <param name="gate">The run's gate, which every call must hold.</param>
    /// <param name="log">Told, once, when a plugin's comparison throws.</param>
    /// <param name="runId">The run, for the log.</param>
    /// <exception cref="ArgumentException">The catalog has no strategy of that name.</exception>
    public ReadyQueues(CompiledPlan plan, string strategyName, Lock gate, EngineLog log, string runId)
    {
        _plan = plan;
        _gate = gate;
        _log = log;
        _runId = runId;
        StrategyName = strategyName;
        if (SchedulingStrategies.Parse(strategyName) is { } builtIn)
        {
            _strategy = builtIn;
        }
        else if (plan.Catalog.TryGetStrategy(strategyName, out var plugin) && plugin is not null)
        {
            _strategy = BuiltInStrategy.Plugin;
            _pluginOrder = new PluginOrder(this, plugin);
            _readyOrder = new long[plan.Tasks.Count];
        }
        else
        {
            throw new ArgumentException($"RunOptions.Strategy or the plan: {plan.Catalog.StrategyProblem(strategyName)}");
        }

        var groups = plan.GroupNames.Length;
        // Observed durations can change the order only where the order depends on remaining paths, and for the
        // critical path only between worker types.
        if (_strategy == BuiltInStrategy.Plugin || (_strategy == BuiltInStrategy.CriticalPath && groups > 1))
        {
            _observedSeconds = new double[groups];
            _observedEstimate = new double[groups];
            _factor = new double[groups];
            Array.Fill(_factor, 1.0);
        }

        if (_strategy is BuiltInStrategy.CriticalPath or BuiltInStrategy.ShortestFirst)
        {
            _sets = new RankedSet?[groups];
            _queues = [];
            return;
        }

        _queues = new PriorityQueue<int, long>[groups];
        for (var g = 0; g < groups; g++)
        {
            _queues[g] = new PriorityQueue<int, long>(plan.ReadyCapacity[g], _pluginOrder);
        }
    }

    /// <summary>Which task has each place, for the strategies of <see cref="_sets"/>.</summary>
    private int[] ByPlace => _byPlace ??= _strategy == BuiltInStrategy.ShortestFirst ? _plan.TasksByShortestFirst : _plan.TasksByRank;

    /// <summary>The strategy, by name.</summary>
    public string StrategyName { get; }

    /// <summary>For a strategy that gives every task a fixed place and never re-ranks (the critical path or the shortest
    /// first, not learning from durations): each task's place, which task has each place, and each place's last tied
    /// place (<see cref="CompiledPlan.RankTieEnd"/>). Null for the others.</summary>
    public (int[] Place, int[] ByPlace, int[] TieEnd)? FixedOrder => _sets is null || _observedSeconds is not null ? null
        : _strategy == BuiltInStrategy.ShortestFirst ? (_plan.ShortestFirstRank, ByPlace, _plan.ShortestFirstTieEnd) : (_plan.Rank, ByPlace, _plan.RankTieEnd);

    /// <summary>Whether the order follows observed durations (see <see cref="Observe"/>); when not, nobody need measure them.</summary>
    public bool LearnsDurations => _observedSeconds is not null;

    /// <summary>How many times the queues were re-ranked.</summary>
    public int Reranks { get; private set; }

    /// <summary>What went wrong with a plugin's strategy, if anything did.</summary>
    public string? StrategyFailure { get; private set; }

    /// <summary>How many tasks are ready. Read without the gate by the process's gauges and by a step that hands a
    /// worker straight to a dependent (<c>FlowRun.TryHandOver</c>): a count that may be a step behind.</summary>
    public int Count => Volatile.Read(ref _queued);

    // Written under the gate by every change to the queues; read anywhere (Count).
    private int _queued;

    /// <summary>Makes a task ready.</summary>
    public void Add(int task)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread, "The ready queues belong to the scheduling step.");
        var group = _plan.Group[task];
        if (_sets is not null)
        {
            (_sets[group] ??= new RankedSet(_plan.Tasks.Count)).Add((int)RankOf(task));
        }
        else
        {
            _queues[group].Enqueue(task, RankOf(task));
        }

        Volatile.Write(ref _queued, _queued + 1);
    }

    /// <summary>Takes the best ready task of any group below its capacity: the first by the strategy's order across
    /// the groups' heads.</summary>
    /// <returns>Whether there was one.</returns>
    public bool TryTake(int[] groupRunning, int[] groupCapacity, out int task, out int group)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread, "The ready queues belong to the scheduling step.");
        if (_sets is not null)
        {
            return TryTakeRanked(groupRunning, groupCapacity, out task, out group);
        }

        group = -1;
        var bestRank = long.MaxValue;
        for (var g = 0; g < _queues.Length; g++)
        {
            if (groupRunning[g] < groupCapacity[g] && _queues[g].TryPeek(out _, out var rank) && (group < 0 || RanksBefore(rank, bestRank)))
            {
                (group, bestRank) = (g, rank);
            }
        }

        if (group < 0)
        {
            task = -1;
            return false;
        }

        task = _queues[group].Dequeue();
        Volatile.Write(ref _queued, _queued - 1);
        return true;
    }

    private bool TryTakeRanked(int[] groupRunning, int[] groupCapacity, out int task, out int group)
    {
        group = -1;
        var best = int.MaxValue;
        var sets = _sets!;
        for (var g = 0; g < sets.Length; g++)
        {
            if (groupRunning[g] < groupCapacity[g] && sets[g] is { } set && set.TryPeek(out var place) && place < best)
            {
                (group, best) = (g, place);
            }
        }

        if (group < 0)
        {
            task = -1;
            return false;
        }

        sets[group]!.Remove(best);
        task = ByPlace[best];
        Volatile.Write(ref _queued, _queued - 1);
        return true;
    }

    /// <summary>Takes any ready task, for a run that stops.</summary>
    public bool TryTakeAny(out int task)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread, "The ready queues belong to the scheduling step.");
        foreach (var set in _sets ?? [])
        {
            if (set is not null && set.TryTake(out var place))
            {
                task = ByPlace[place];
                Volatile.Write(ref _queued, _queued - 1);
                return true;
            }
        }

        foreach (var queue in _queues)
        {
            if (queue.TryDequeue(out task, out _))
            {
                Volatile.Write(ref _queued, _queued - 1);
                return true;
            }
        }

        task = -1;
        return false;
    }

    /// <summary>Learns from a task that succeeded after <paramref name="seconds"/> how long its worker type's tasks
    /// take against their estimates, and re-ranks the ready tasks when that changed enough to change the order.</summary>
    /// <param name="task">The task.</param>
    /// <param name="seconds">How long it ran.</param>
    /// <param name="finished">How many tasks of the run had finished before it.</param>
    public void Observe(int task, double seconds, int finished)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread, "The ready queues belong to the scheduling step.");
        // Only runs whose order depends on remaining paths keep the sums (see the constructor).
        if (_observedSeconds is null)
        {
            return;
        }

        var group = _plan.Group[task];
        _observedSeconds[group] += seconds;
        _observedEstimate![group] += _plan.Estimates[task];
        if (finished + 1 < _nextRerankCheck)
        {
            return;
        }

        _nextRerankCheck = 2 * (finished + 1);
        var factors = CurrentFactors();
        var drifted = false;
        for (var g = 0; g < factors.Length; g++)
        {
            drifted |= Math.Abs(factors[g] - _factor![g]) > RerankDrift * _factor[g];
        }

        if (drifted)
        {
            Rerank(factors);
        }
    }

    /// <summary>The task's place in its queue under the run's strategy: lower goes first.</summary>
    private long RankOf(int task)
    {
        switch (_strategy)
        {
            case BuiltInStrategy.Priority:
                return ((long)_plan.Tasks[task].Priority << 40) + _readyCounter++;
            case BuiltInStrategy.Fifo:
                return _readyCounter++;
            case BuiltInStrategy.ShortestFirst:
                return _plan.ShortestFirstRank[task];
            case BuiltInStrategy.Plugin:
                _readyOrder![task] = _readyCounter++;
                return task;
            default:
                return (_rank ?? _plan.Rank)[task];
        }
    }

    private bool RanksBefore(long rank, long other) => _pluginOrder is null ? rank < other : _pluginOrder.Compare(rank, other) < 0;

    /// <summary>Each worker type's observed/expected ratio; a type with nothing finished yet takes the geometric mean
    /// of the others', so it is neither favoured nor held back for lack of news.</summary>
    private double[] CurrentFactors()
    {
        var factors = new double[_plan.GroupNames.Length];
        var logSum = 0.0;
        var known = 0;
        for (var g = 0; g < factors.Length; g++)
        {
            if (_observedEstimate![g] > 0)
            {
                factors[g] = Math.Max(_observedSeconds![g], 1e-9) / _observedEstimate[g];
                logSum += Math.Log(factors[g]);
                known++;
            }
        }

        var unknown = known == 0 ? 1 : Math.Exp(logSum / known);
        for (var g = 0; g < factors.Length; g++)
        {
            if (_observedEstimate![g] <= 0)
            {
                factors[g] = unknown;
            }
        }

        return factors;
    }

    private void Rerank(double[] factors)
    {
        _factor = factors;
        Reranks++;
        var bottom = _bottomLevel = Analysis.PlanAnalyzer.BottomLevels(_plan.Graph, _plan.Order, EstimateSeconds, _bottomLevel);
        if (_strategy == BuiltInStrategy.CriticalPath)
        {
            // The ready tasks leave under their old places and come back under the new ones.
            var ready = new List<int>();
            while (TryTakeAny(out var task))
            {
                ready.Add(task);
            }

            _rank = RankTasks(_plan.Tasks, bottom);
            _byPlace = Inverse(_rank);
            foreach (var task in ready)
            {
                Add(task);
            }

            return;
        }

        // The keys in the queues are stale: take every ready task out and put it back under the new order.
        var pending = new List<int>();
        foreach (var queue in _queues)
        {
            pending.Clear();
            while (queue.TryDequeue(out var task, out _))
            {
                pending.Add(task);
            }

            foreach (var task in pending)
            {
                queue.Enqueue(task, _strategy == BuiltInStrategy.Plugin ? task : _rank![task]);
            }
        }
    }

    private double EstimateSeconds(int task) => _plan.Estimates[task] * (_factor?[_plan.Group[task]] ?? 1);

    private ReadyTask ReadyTaskOf(int task) => new(
        _plan.Tasks[task].Id,
        _plan.GroupNames[_plan.Group[task]],
        (int)_plan.Tasks[task].Priority,
        task,
        _readyOrder![task],
        EstimateSeconds(task),
        (_bottomLevel ?? _plan.BottomLevel)[task],
        _plan.Graph.SuccessorStart[task + 1] - _plan.Graph.SuccessorStart[task]);

    /// <summary>Orders queue keys (task indices) by the plugin's comparison, then by ready order. A comparison that
    /// throws is reported once and the run goes on in ready order.</summary>
    private sealed class PluginOrder(ReadyQueues queues, ParallelFlowStrategy strategy) : IComparer<long>
    {
        public int Compare(long x, long y)
        {
            var a = (int)x;
            var b = (int)y;
            if (queues.StrategyFailure is null)
            {
                try
                {
                    var byStrategy = strategy.Compare(queues.ReadyTaskOf(a), queues.ReadyTaskOf(b));
                    if (byStrategy != 0)
                    {
                        return byStrategy;
                    }
                }
#pragma warning disable CA1031 // A plugin's failure must not end the run: it falls back to ready order, visibly.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    queues.StrategyFailure = $"strategy '{queues.StrategyName}' failed ({ex.GetType().Name}: {ex.Message}); the rest of the run took tasks in ready order";
                    queues._log.StrategyFailed(queues._runId, queues.StrategyName, ex);
                }
            }

            return queues._readyOrder![a].CompareTo(queues._readyOrder[b]);
        }
    }

    /// <summary>Which task has each place of a ranking.</summary>
    internal static int[] Inverse(int[] rank)
    {
        var byPlace = new int[rank.Length];
        for (var task = 0; task < rank.Length; task++)
        {
            byPlace[rank[task]] = task;
        }

        return byPlace;
    }

    /// <summary>Orders tasks for the ready queues: priority first, then the longest remaining path, then plan order.</summary>
    internal static int[] RankTasks(IReadOnlyList<TaskDefinition> tasks, double[] bottomLevel)
    {
        var byOrder = Enumerable.Range(0, tasks.Count).ToArray();
        Array.Sort(byOrder, (a, b) =>
        {
            // As numbers: Enum.CompareTo takes an object, and boxing both sides of every comparison of a 100k-task sort
            // was most of what compiling such a plan allocated.
            var c = ((int)tasks[a].Priority).CompareTo((int)tasks[b].Priority);
            if (c != 0)
            {
                return c;
            }

            c = bottomLevel[b].CompareTo(bottomLevel[a]);
            return c != 0 ? c : a.CompareTo(b);
        });
        var rank = new int[tasks.Count];
        for (var position = 0; position < byOrder.Length; position++)
        {
            rank[byOrder[position]] = position;
        }

        return rank;
    }
}
