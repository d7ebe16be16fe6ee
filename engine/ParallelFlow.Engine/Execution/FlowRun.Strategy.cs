using ParallelFlow.Engine.Plans;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// The run's strategy: how ready tasks are ranked, and how the critical path follows the durations observed.
/// </summary>
/// <remarks>
/// Built-in strategies rank by a precomputed <see cref="long"/> key. A plugin's strategy ranks by its comparison, with
/// the task index as the queue's key and ties broken by ready order. Each worker type keeps the ratio of the time its
/// finished tasks took to what they were expected to take; at the 1st, 2nd, 4th, 8th… finished task, when a ratio
/// moved by more than a quarter since the last ranking, the remaining paths are recomputed with the corrected
/// estimates and the ready queues re-ranked. That is at most log₂(tasks) recomputations of O(tasks + edges), and none
/// for a critical-path run of a single worker type, where one ratio scales every path alike and leaves the order as is.
/// </remarks>
public sealed partial class FlowRun
{
    private const double RerankDrift = 0.25;

    private readonly BuiltInStrategy _strategy;
    private readonly ParallelFlowStrategy? _pluginStrategy;
    private readonly PluginOrder? _rankComparer;
    private long _readyCounter;
    private long[]? _readyOrder;
    private int[]? _rank;
    private double[]? _bottomLevel;
    private double[]? _observedSeconds;
    private double[]? _observedEstimate;
    private double[]? _factor;
    private int _nextRerankCheck = 1;
    private int _reranks;
    private string? _strategyFailure;

    /// <summary>The strategy the run uses, by name.</summary>
    public string StrategyName { get; }

    private (BuiltInStrategy Kind, ParallelFlowStrategy? Plugin) ResolveStrategy(string name)
    {
        if (SchedulingStrategies.Parse(name) is { } builtIn)
        {
            return (builtIn, null);
        }

        return _plan.Catalog.TryGetStrategy(name, out var plugin) && plugin is not null
            ? (BuiltInStrategy.Plugin, plugin)
            : throw new ArgumentException($"RunOptions.Strategy or the plan: {_plan.Catalog.StrategyProblem(name)}");
    }

    /// <summary>The task's place in its ready queue under the run's strategy: lower goes first.</summary>
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

    private bool RanksBefore(long rank, long other) => _rankComparer is null ? rank < other : _rankComparer.Compare(rank, other) < 0;

    /// <summary>Learns from a finished task how long its worker type's tasks take against their estimates, and re-ranks
    /// the ready tasks when that changed enough to change the order.</summary>
    private void Observe(int task)
    {
        // Only runs whose order depends on remaining paths keep the sums (see the constructor).
        if (_observedSeconds is null || _status[task] != TaskRunStatus.Succeeded || _attempts[task] == 0)
        {
            return;
        }

        var group = _plan.Group[task];
        _observedSeconds[group] += Duration(task).TotalSeconds;
        _observedEstimate![group] += _plan.Estimates[task];
        if (_finished + 1 < _nextRerankCheck)
        {
            return;
        }

        _nextRerankCheck = 2 * (_finished + 1);
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

    /// <summary>Each worker type's observed/expected ratio; a type with nothing finished yet takes the geometric mean
    /// of the others', so it is neither favoured nor held back for lack of news.</summary>
    private double[] CurrentFactors()
    {
        var factors = new double[_ready.Length];
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
        _reranks++;
        var bottom = _bottomLevel = Analysis.PlanAnalyzer.BottomLevels(_plan.Graph, _plan.Order, EstimateSeconds, _bottomLevel);
        if (_strategy == BuiltInStrategy.CriticalPath)
        {
            _rank = ParallelFlowEngine.RankTasks(_plan.Tasks, bottom);
        }

        // The keys in the queues are stale: take every ready task out and put it back under the new order.
        var pending = new List<int>();
        foreach (var queue in _ready)
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
    private sealed class PluginOrder(FlowRun run, ParallelFlowStrategy strategy) : IComparer<long>
    {
        public int Compare(long x, long y)
        {
            var a = (int)x;
            var b = (int)y;
            if (run._strategyFailure is null)
            {
                try
                {
                    var byStrategy = strategy.Compare(run.ReadyTaskOf(a), run.ReadyTaskOf(b));
                    if (byStrategy != 0)
                    {
                        return byStrategy;
                    }
                }
#pragma warning disable CA1031 // A plugin's failure must not end the run: it falls back to ready order, visibly.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    run._strategyFailure = $"strategy '{run.StrategyName}' failed ({ex.GetType().Name}: {ex.Message}); the rest of the run took tasks in ready order";
                    run._context.Log.StrategyFailed(run.RunId, run.StrategyName, ex);
                }
            }

            return run._readyOrder![a].CompareTo(run._readyOrder[b]);
        }
    }
}
