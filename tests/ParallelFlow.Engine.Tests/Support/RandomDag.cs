using System.Text;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Tests.Support;

/// <summary>A random DAG for property tests: edges only go from lower to higher task numbers, so it is acyclic by
/// construction; each edge is hard or soft, each task has one of three worker types and may be set to fail.</summary>
public sealed record RandomDag(int Count, int[][] HardPredecessors, int[][] SoftPredecessors, int[] WorkerType, bool[] Fails, int Workers, int[] Limits, TaskPriority[] Priorities)
{
    public static readonly string[] WorkerTypes = ["alpha", "beta", "gamma"];

    public static RandomDag Create(int count, int seed, int workers, double failureRate)
    {
        var random = new Random(seed);
        var hard = new int[count][];
        var soft = new int[count][];
        for (var i = 0; i < count; i++)
        {
            var predecessors = Enumerable.Range(0, i).Where(_ => random.NextDouble() < Math.Min(0.5, 3.0 / Math.Max(1, i))).ToList();
            var isHard = predecessors.ToDictionary(p => p, _ => random.NextDouble() < 0.75);
            hard[i] = [.. predecessors.Where(p => isHard[p])];
            soft[i] = [.. predecessors.Where(p => !isHard[p])];
        }

        var type = Enumerable.Range(0, count).Select(_ => random.Next(WorkerTypes.Length)).ToArray();
        var fails = Enumerable.Range(0, count).Select(_ => random.NextDouble() < failureRate).ToArray();
        var limits = WorkerTypes.Select(_ => random.Next(1, 4)).ToArray();
        var priorities = Enumerable.Range(0, count).Select(_ => (TaskPriority)random.Next(4)).ToArray();
        return new RandomDag(count, hard, soft, type, fails, workers, limits, priorities);
    }

    public static string Id(int task) => $"t{task}";

    /// <summary>Each of <paramref name="count"/> tasks' predecessors, all numbered below it: task i takes each earlier
    /// task with probability <paramref name="edges"/>/i, so about that many each.</summary>
    public static int[][] Predecessors(Random random, int count, double edges) =>
        [.. Enumerable.Range(0, count).Select(i => Enumerable.Range(0, i).Where(_ => random.NextDouble() < edges / Math.Max(1, i)).ToArray())];

    /// <summary>Whether a task runs: every hard dependency must run and succeed.</summary>
    public bool[] Runs() => RunsOf(HardPredecessors, Fails);

    /// <summary>Whether each task of a graph numbered in topological order runs, given each one's hard predecessors and
    /// whether it fails.</summary>
    public static bool[] RunsOf(int[][] hardPredecessors, bool[] fails)
    {
        var runs = new bool[hardPredecessors.Length];
        for (var i = 0; i < runs.Length; i++)
        {
            runs[i] = hardPredecessors[i].All(p => runs[p] && !fails[p]);
        }

        return runs;
    }

    public PlanDefinition ToPlan()
    {
        var builder = new PlanBuilder("random").WithWorkers(Workers);
        for (var t = 0; t < WorkerTypes.Length; t++)
        {
            builder.WithLimit(WorkerTypes[t], Limits[t]);
        }

        for (var i = 0; i < Count; i++)
        {
            var task = i;
            builder.AddTask(Id(task), WorkerTypes[WorkerType[task]], b => b
                .DependsOn([.. HardPredecessors[task].Select(Id)])
                .After([.. SoftPredecessors[task].Select(Id)])
                .Priority(Priorities[task])
                .With(new { fail = Fails[task] }));
        }

        return builder.Build();
    }

    public override string ToString()
    {
        var text = new StringBuilder($"{Count} tasks, {Workers} workers, limits [{string.Join(",", Limits)}]: ");
        for (var i = 0; i < Count; i++)
        {
            text.Append($"t{i}:{WorkerTypes[WorkerType[i]]}{(Fails[i] ? "!" : "")}<-[{string.Join(",", HardPredecessors[i])}|{string.Join(",", SoftPredecessors[i])}] ");
        }

        return text.ToString();
    }
}
