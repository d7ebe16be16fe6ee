using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Analysis;

/// <summary>Computes a <see cref="PlanAnalysis"/> and the per-task remaining path lengths the scheduler orders by.</summary>
internal static class PlanAnalyzer
{
    public static (PlanAnalysis Analysis, double[] BottomLevel, int[] Level, int[] Order) Analyze(IReadOnlyList<TaskDefinition> tasks, PlanGraph graph, IReadOnlyList<double>? estimates = null)
    {
        var order = graph.TopologicalOrder();
        var count = graph.Count;
        var level = new int[count];
        var top = new double[count];          // longest estimated path ending just before the task starts
        var best = new int[count];            // the predecessor on that path
        Array.Fill(best, -1);
        foreach (var task in order)
        {
            foreach (var next in graph.SuccessorsOf(task))
            {
                level[next] = Math.Max(level[next], level[task] + 1);
                var finish = top[task] + (estimates?[task] ?? tasks[task].Estimate);
                if (finish > top[next])
                {
                    top[next] = finish;
                    best[next] = task;
                }
            }
        }

        var bottom = BottomLevels(graph, order, task => estimates?[task] ?? tasks[task].Estimate);

        var end = -1;
        var critical = 0.0;
        var work = 0.0;
        for (var i = 0; i < count; i++)
        {
            work += (estimates?[i] ?? tasks[i].Estimate);
            var finish = top[i] + (estimates?[i] ?? tasks[i].Estimate);
            if (end < 0 || finish > critical)
            {
                (end, critical) = (i, finish);
            }
        }

        var path = new List<string>();
        for (var task = end; task >= 0; task = best[task])
        {
            path.Add(tasks[task].Id);
        }

        path.Reverse();
        var waves = new List<List<string>>();
        foreach (var task in order)
        {
            while (waves.Count <= level[task])
            {
                waves.Add([]);
            }

            waves[level[task]].Add(tasks[task].Id);
        }

        var syncPoints = graph.PredecessorCount.Count(c => c >= 2);
        var analysis = new PlanAnalysis
        {
            Waves = waves,
            CriticalPath = path,
            CriticalPathSeconds = critical,
            TotalWorkSeconds = work,
            TaskCount = count,
            EdgeCount = graph.EdgeCount,
            SyncPoints = syncPoints,
        };
        return (analysis, bottom, level, order);
    }

    /// <summary>Each task's bottom level: the longest path from its start to the end of the plan, itself included, by
    /// the given durations. The critical-path rank, its re-ranking during a run and the list-scheduling simulation all
    /// order by it.</summary>
    /// <param name="graph">The dependencies.</param>
    /// <param name="order">A topological order of the graph.</param>
    /// <param name="duration">Each task's duration.</param>
    /// <param name="into">An array to fill; a new one when null.</param>
    /// <returns>The bottom levels, by task.</returns>
    public static double[] BottomLevels(PlanGraph graph, int[] order, Func<int, double> duration, double[]? into = null)
    {
        var bottom = into ?? new double[graph.Count];
        for (var i = order.Length - 1; i >= 0; i--)
        {
            var task = order[i];
            var longest = 0.0;
            foreach (var next in graph.SuccessorsOf(task))
            {
                longest = Math.Max(longest, bottom[next]);
            }

            bottom[task] = duration(task) + longest;
        }

        return bottom;
    }
}
