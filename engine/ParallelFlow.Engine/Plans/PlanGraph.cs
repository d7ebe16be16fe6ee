namespace ParallelFlow.Engine.Plans;

/// <summary>A plan's tasks as numbered nodes with compact (CSR) edge arrays: task <c>i</c>'s successors are
/// <c>Successors[SuccessorStart[i]..SuccessorStart[i+1]]</c>. Edges to unknown ids are left out, so the graph can be
/// built before the plan is known to be valid.</summary>
internal sealed class PlanGraph
{
    public PlanGraph(IReadOnlyList<TaskDefinition> tasks)
    {
        Count = tasks.Count;
        Index = new Dictionary<string, int>(Count, StringComparer.Ordinal);
        for (var i = 0; i < Count; i++)
        {
            Index.TryAdd(tasks[i].Id, i);
        }

        // One edge per (predecessor, task) pair; a pair named both hard and soft is hard (hard ones come first). The
        // stamp says which task last took an edge from a predecessor, so a repeat is found in constant time.
        var edges = new List<(int From, int To, bool Hard)>(Count);
        var stamp = new int[Count];
        Array.Fill(stamp, -1);
        HardPredecessorStart = new int[Count + 1];
        var hard = new List<int>(Count);
        for (var i = 0; i < Count; i++)
        {
            HardPredecessorStart[i] = hard.Count;
            AddEdges(tasks[i].DependsOn, i, isHard: true);
            AddEdges(tasks[i].After, i, isHard: false);
        }

        void AddEdges(IReadOnlyList<string> ids, int to, bool isHard)
        {
            for (var j = 0; j < ids.Count; j++)
            {
                if (!Index.TryGetValue(ids[j], out var from) || stamp[from] == to)
                {
                    continue;
                }

                stamp[from] = to;
                edges.Add((from, to, isHard));
                if (isHard)
                {
                    hard.Add(from);
                }
            }
        }

        HardPredecessorStart[Count] = hard.Count;
        HardPredecessors = [.. hard];
        EdgeCount = edges.Count;

        PredecessorCount = new int[Count];
        SuccessorStart = new int[Count + 1];
        foreach (var (from, to, _) in edges)
        {
            SuccessorStart[from + 1]++;
            PredecessorCount[to]++;
        }

        for (var i = 0; i < Count; i++)
        {
            SuccessorStart[i + 1] += SuccessorStart[i];
        }

        Successors = new int[edges.Count];
        SuccessorIsHard = new bool[edges.Count];
        SuccessorIsSole = new bool[edges.Count];
        var fill = (int[])SuccessorStart.Clone();
        foreach (var (from, to, isHard) in edges)
        {
            var slot = fill[from]++;
            Successors[slot] = to;
            SuccessorIsHard[slot] = isHard;
            SuccessorIsSole[slot] = PredecessorCount[to] == 1;
        }
    }

    public int Count { get; }

    public int EdgeCount { get; }

    public Dictionary<string, int> Index { get; }

    public int[] SuccessorStart { get; }

    public int[] Successors { get; }

    public bool[] SuccessorIsHard { get; }

    /// <summary>Per edge: whether the successor has no other predecessor, so that the edge's release alone makes it
    /// ready (read beside <see cref="Successors"/>, where a run's release looks).</summary>
    public bool[] SuccessorIsSole { get; }

    public int[] PredecessorCount { get; }

    public int[] HardPredecessorStart { get; }

    public int[] HardPredecessors { get; }

    public ReadOnlySpan<int> SuccessorsOf(int task) => Successors.AsSpan(SuccessorStart[task], SuccessorStart[task + 1] - SuccessorStart[task]);

    public ReadOnlySpan<int> HardPredecessorsOf(int task) =>
        HardPredecessors.AsSpan(HardPredecessorStart[task], HardPredecessorStart[task + 1] - HardPredecessorStart[task]);

    /// <summary>Kahn's order; shorter than <see cref="Count"/> when the graph has a cycle.</summary>
    public int[] TopologicalOrder()
    {
        var remaining = (int[])PredecessorCount.Clone();
        var order = new int[Count];
        var length = 0;
        for (var i = 0; i < Count; i++)
        {
            if (remaining[i] == 0)
            {
                order[length++] = i;
            }
        }

        for (var head = 0; head < length; head++)
        {
            foreach (var next in SuccessorsOf(order[head]))
            {
                if (--remaining[next] == 0)
                {
                    order[length++] = next;
                }
            }
        }

        return length == Count ? order : order[..length];
    }

    /// <summary>Every cycle, as one closed walk per strongly connected component (Tarjan), listing each task of the
    /// component in the order the walk meets it.</summary>
    public List<List<int>> FindCycles()
    {
        var index = new int[Count];
        var low = new int[Count];
        var onStack = new bool[Count];
        Array.Fill(index, -1);
        var stack = new Stack<int>();
        var cycles = new List<List<int>>();
        var counter = 0;

        // Iterative Tarjan: plans can be deep chains, and recursion would overflow the stack.
        var work = new Stack<(int Node, int Edge)>();
        for (var root = 0; root < Count; root++)
        {
            if (index[root] >= 0)
            {
                continue;
            }

            work.Push((root, SuccessorStart[root]));
            index[root] = low[root] = counter++;
            stack.Push(root);
            onStack[root] = true;
            while (work.Count > 0)
            {
                var (node, edge) = work.Pop();
                if (edge < SuccessorStart[node + 1])
                {
                    work.Push((node, edge + 1));
                    var next = Successors[edge];
                    if (index[next] < 0)
                    {
                        index[next] = low[next] = counter++;
                        stack.Push(next);
                        onStack[next] = true;
                        work.Push((next, SuccessorStart[next]));
                    }
                    else if (onStack[next])
                    {
                        low[node] = Math.Min(low[node], index[next]);
                    }

                    continue;
                }

                if (work.Count > 0)
                {
                    var parent = work.Peek().Node;
                    low[parent] = Math.Min(low[parent], low[node]);
                }

                if (low[node] == index[node])
                {
                    var component = new List<int>();
                    int member;
                    do
                    {
                        member = stack.Pop();
                        onStack[member] = false;
                        component.Add(member);
                    }
                    while (member != node);

                    if (component.Count > 1 || SuccessorsOf(node).Contains(node))
                    {
                        cycles.Add(OrderAlongEdges(component));
                    }
                }
            }
        }

        return cycles;
    }

    private List<int> OrderAlongEdges(List<int> component)
    {
        // Walk the component from its first-declared task, always stepping to an unvisited member when one is
        // adjacent, so the message reads as a path ("a → b → c → a") wherever the component allows it.
        var members = component.ToHashSet();
        var start = component.Min();
        var ordered = new List<int> { start };
        var visited = new HashSet<int> { start };
        var current = start;
        while (ordered.Count < component.Count)
        {
            var step = -1;
            foreach (var next in SuccessorsOf(current))
            {
                if (members.Contains(next) && !visited.Contains(next))
                {
                    step = next;
                    break;
                }
            }

            if (step < 0)
            {
                step = component.Where(m => !visited.Contains(m)).Min();
            }

            ordered.Add(step);
            visited.Add(step);
            current = step;
        }

        return ordered;
    }
}
