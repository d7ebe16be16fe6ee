using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Benchmarks;

/// <summary>A benchmark graph: predecessor lists by task number (edges go from lower to higher numbers), turned into
/// a plan for the engine and into plain arrays for the baselines, so every contender runs the same graph.</summary>
public sealed class Graph
{
    private Graph(string name, int[][] predecessors)
    {
        Name = name;
        Predecessors = predecessors;
        Successors = BuildSuccessors(predecessors);
        Levels = ComputeLevels();
    }

    public string Name { get; }

    public int Count => Predecessors.Length;

    public int[][] Predecessors { get; }

    public int[][] Successors { get; }

    public int[][] Levels { get; }

    public static Graph Create(string shape, int count) => shape switch
    {
        "independent" => new Graph(shape, [.. Enumerable.Range(0, count).Select(_ => Array.Empty<int>())]),
        "chain" => new Graph(shape, [.. Enumerable.Range(0, count).Select(i => i == 0 ? Array.Empty<int>() : [i - 1])]),
        "fork-join" => new Graph(shape, [.. Enumerable.Range(0, count).Select(i => i == 0 ? [] : i == count - 1 ? [.. Enumerable.Range(1, count - 2)] : new[] { 0 })]),
        "layered-random" => LayeredRandom(count, width: 100, seed: 42),
        "binary-tree" => new Graph(shape, [.. Enumerable.Range(0, count).Select(i => i == 0 ? Array.Empty<int>() : [(i - 1) / 2])]),
        "wavefront" => Wavefront(count),
        _ => throw new ArgumentException($"Unknown shape '{shape}'.", nameof(shape)),
    };

    /// <summary>A graph given by its predecessor lists (edges from lower to higher numbers).</summary>
    public static Graph FromPredecessors(string name, int[][] predecessors) => new(name, predecessors);

    /// <summary>The graph as a plan of <paramref name="worker"/>'s tasks, for <paramref name="workers"/> workers.</summary>
    /// <param name="worker">The worker type of every task.</param>
    /// <param name="workers">The plan's worker count.</param>
    /// <param name="estimate">Every task's estimate; none (the engine's default of one unit each) when null. An estimate
    /// of zero makes every remaining path equal, so the critical path's order falls back to plan order.</param>
    public PlanDefinition ToPlan(string worker, int workers, TimeSpan? estimate = null)
    {
        var builder = new PlanBuilder(Name).WithWorkers(workers);
        for (var i = 0; i < Count; i++)
        {
            var predecessors = Predecessors[i].Select(Id).ToArray();
            builder.AddTask(Id(i), worker, t =>
            {
                t.DependsOn(predecessors);
                if (estimate is { } e)
                {
                    t.Estimate(e);
                }
            });
        }

        return builder.Build();
    }

    private static string Id(int task) => "t" + task.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The graph of a plan, numbered in a topological order, and each task's estimate in seconds.</summary>
    public static (Graph Graph, double[] Seconds) FromPlan(PlanDefinition plan)
    {
        var graph = new PlanGraph(plan.Tasks);
        var order = graph.TopologicalOrder();
        var number = new int[order.Length];
        for (var position = 0; position < order.Length; position++)
        {
            number[order[position]] = position;
        }

        var predecessors = new List<int>[order.Length];
        for (var task = 0; task < order.Length; task++)
        {
            predecessors[number[task]] ??= [];
            foreach (var next in graph.SuccessorsOf(task))
            {
                (predecessors[number[next]] ??= []).Add(number[task]);
            }
        }

        return (new Graph(plan.Id, [.. predecessors.Select(p => p.ToArray())]), [.. order.Select(t => plan.Tasks[t].EstimateSeconds ?? 0)]);
    }

    /// <summary>A square grid: each cell waits for the one above and the one to its left.</summary>
    private static Graph Wavefront(int count)
    {
        var side = (int)Math.Sqrt(count);
        return new Graph("wavefront", [.. Enumerable.Range(0, side * side).Select(i =>
        {
            var (row, column) = (i / side, i % side);
            return (row, column) switch
            {
                (0, 0) => [],
                (0, _) => [i - 1],
                (_, 0) => [i - side],
                _ => new[] { i - side, i - 1 },
            };
        })]);
    }

    private static Graph LayeredRandom(int count, int width, int seed)
    {
        // Layers of `width` tasks; each task depends on 1–3 random tasks of the layer before.
        var random = new Random(seed);
        var predecessors = new int[count][];
        for (var i = 0; i < count; i++)
        {
            var layerStart = i / width * width;
            if (layerStart == 0)
            {
                predecessors[i] = [];
                continue;
            }

            var previousStart = layerStart - width;
            predecessors[i] = [.. Enumerable.Range(0, random.Next(1, 4)).Select(_ => previousStart + random.Next(width)).Distinct()];
        }

        return new Graph("layered-random", predecessors);
    }

    private static int[][] BuildSuccessors(int[][] predecessors)
    {
        var lists = predecessors.Select(_ => new List<int>()).ToArray();
        for (var i = 0; i < predecessors.Length; i++)
        {
            foreach (var p in predecessors[i])
            {
                lists[p].Add(i);
            }
        }

        return [.. lists.Select(l => l.ToArray())];
    }

    private int[][] ComputeLevels()
    {
        var level = new int[Count];
        for (var i = 0; i < Count; i++)
        {
            foreach (var p in Predecessors[i])
            {
                level[i] = Math.Max(level[i], level[p] + 1);
            }
        }

        return [.. Enumerable.Range(0, Count).GroupBy(i => level[i]).OrderBy(g => g.Key).Select(g => g.ToArray())];
    }
}
