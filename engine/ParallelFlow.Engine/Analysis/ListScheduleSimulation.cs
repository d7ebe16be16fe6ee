using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Analysis;

/// <summary>
/// An offline list-scheduling simulation: the makespan an ideal scheduler with no overhead reaches on a graph whose
/// task durations are known exactly, when free workers take ready tasks in a strategy's order. The reference a
/// measured run is compared with: what the strategy itself costs is in the simulation, what the engine costs is the
/// difference.
/// </summary>
internal static class ListScheduleSimulation
{
    /// <summary>The makespan of a plan whose tasks each take exactly their estimate (what <c>ParallelFlowEngine.SimulateMakespan</c> returns).</summary>
    public static double Makespan(PlanDefinition plan, int workers, string strategy) =>
        Makespan(plan.Graph, [.. plan.Tasks.Select(t => t.Estimate)], [.. plan.Tasks.Select(t => (int)t.Priority)], workers, strategy);

    /// <param name="graph">The dependencies.</param>
    /// <param name="durations">Each task's duration, in seconds.</param>
    /// <param name="priorities">Each task's priority (lower first), for the strategies that use it; all equal when null.</param>
    /// <param name="workers">How many tasks may run at once.</param>
    /// <param name="strategy">The order ready tasks are taken in: critical path (priority, then the longest remaining
    /// path, then plan order), priority (then ready order), fifo (ready order) or shortest first.</param>
    /// <returns>The simulated makespan, in seconds.</returns>
    public static double Makespan(PlanGraph graph, IReadOnlyList<double> durations, IReadOnlyList<int>? priorities, int workers, string strategy)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(workers);
        var count = graph.Count;
        var kind = SchedulingStrategies.Parse(strategy) ?? throw new ArgumentException($"not a built-in strategy: '{strategy}'", nameof(strategy));
        var bottom = kind == BuiltInStrategy.CriticalPath ? PlanAnalyzer.BottomLevels(graph, graph.TopologicalOrder(), task => durations[task]) : null;
        var remaining = (int[])graph.PredecessorCount.Clone();
        var ready = new PriorityQueue<int, (int Priority, double Key, long Order)>();
        var running = new PriorityQueue<int, double>();
        long sequence = 0;

        void MakeReady(int task)
        {
            var priority = priorities?[task] ?? 0;
            ready.Enqueue(task, kind switch
            {
                BuiltInStrategy.CriticalPath => (priority, -bottom![task], task),
                BuiltInStrategy.Priority => (priority, 0, sequence++),
                BuiltInStrategy.ShortestFirst => (0, durations[task], task),
                _ => (0, 0, sequence++),
            });
        }

        for (var task = 0; task < count; task++)
        {
            if (remaining[task] == 0)
            {
                MakeReady(task);
            }
        }

        var now = 0.0;
        var free = workers;
        while (true)
        {
            while (free > 0 && ready.TryDequeue(out var task, out _))
            {
                running.Enqueue(task, now + durations[task]);
                free--;
            }

            if (!running.TryPeek(out _, out var next))
            {
                return now;
            }

            // Every task finishing at this moment frees its worker before the next choice is made.
            now = next;
            while (running.TryPeek(out var finished, out var at) && at <= now)
            {
                running.Dequeue();
                free++;
                for (var edge = graph.SuccessorStart[finished]; edge < graph.SuccessorStart[finished + 1]; edge++)
                {
                    if (--remaining[graph.Successors[edge]] == 0)
                    {
                        MakeReady(graph.Successors[edge]);
                    }
                }
            }
        }
    }
}
