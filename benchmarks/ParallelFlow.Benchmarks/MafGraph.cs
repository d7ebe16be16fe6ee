using Microsoft.Agents.AI.Workflows;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// A benchmark graph as a Microsoft Agent Framework workflow: an executor per task, an edge per dependency, a start
/// executor with an edge to every task without dependencies. MAF delivers a message along every edge, so a task with k
/// dependencies receives k messages; it does its (zero) work and sends on once, at the k-th — what "runs when its
/// dependencies are done" means. The other k − 1 answer null, which MAF does not send (checked when it is built).
/// </summary>
public sealed class MafGraph
{
    private readonly int[] _arrived;
    private readonly int[] _needed;
    private readonly int[] _order;
    private readonly Workflow _workflow;
    private readonly Func<int, Task>? _work;
    private int _ran;

    /// <param name="graph">The graph.</param>
    /// <param name="work">What a task does (a sleep, for a latency-bound case); nothing when null.</param>
    public MafGraph(Graph graph, Func<int, Task>? work = null)
    {
        _work = work;
        _arrived = new int[graph.Count];
        _needed = [.. graph.Predecessors.Select(p => Math.Max(1, p.Length))];
        _order = new int[graph.Count];
        var nodes = Enumerable.Range(0, graph.Count).Select(Node).ToArray();
        var start = ((Func<string, string>)(_ => "go")).BindAsExecutor<string, string>("start");
        var builder = new WorkflowBuilder(start);
        for (var i = 0; i < graph.Count; i++)
        {
            if (graph.Predecessors[i].Length == 0)
            {
                builder.AddEdge(start, nodes[i]);
            }

            foreach (var p in graph.Predecessors[i])
            {
                builder.AddEdge(nodes[p], nodes[i]);
            }
        }

        _workflow = builder.Build();
        Check(graph);
    }

    /// <summary>One run of the graph; the number of tasks that ran.</summary>
    public async Task<int> RunAsync()
    {
        Array.Clear(_arrived);
        _ran = 0;
        await using (await InProcessExecution.RunAsync(_workflow, "go").ConfigureAwait(false))
        {
        }

        return _ran;
    }

    private ExecutorBinding Node(int task)
    {
        var id = "t" + task.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (_work is null)
        {
            return ((Func<string, string?>)(_ => Arrived(task) ? Ran(task) : null)).BindAsExecutor<string, string?>(id);
        }

        return ((Func<string, ValueTask<string?>>)(async _ =>
        {
            if (!Arrived(task))
            {
                return null;
            }

            await _work(task).ConfigureAwait(false);
            return Ran(task);
        })).BindAsExecutor<string, string?>(id);
    }

    private bool Arrived(int task) => Interlocked.Increment(ref _arrived[task]) == _needed[task];

    private string Ran(int task)
    {
        _order[task] = Interlocked.Increment(ref _ran);
        return "done";
    }

    /// <summary>Every task ran once, after all its dependencies.</summary>
    private void Check(Graph graph)
    {
        var ran = RunAsync().GetAwaiter().GetResult();
        if (ran != graph.Count)
        {
            throw new InvalidOperationException($"MAF ran {ran} of {graph.Count} tasks");
        }

        for (var i = 0; i < graph.Count; i++)
        {
            if (graph.Predecessors[i].Any(p => _order[p] >= _order[i]))
            {
                throw new InvalidOperationException($"MAF ran task {i} before one of its dependencies");
            }
        }
    }
}
