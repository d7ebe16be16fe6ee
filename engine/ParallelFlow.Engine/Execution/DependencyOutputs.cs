using System.Collections;
using System.Diagnostics.CodeAnalysis;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>A task's view of its hard dependencies' results, read straight from the run's result array rather than
/// copied into a dictionary per task.</summary>
/// <remarks>A task with a <c>context</c> limit sees its dependencies' outputs as they were cut down for it
/// (<paramref name="replaced"/>, by predecessor).</remarks>
internal sealed class DependencyOutputs(CompiledPlan plan, TaskTable table, int task, Dictionary<int, TaskResult>? replaced = null) : IReadOnlyDictionary<string, TaskResult>
{
    private ReadOnlySpan<int> Predecessors => plan.Graph.HardPredecessorsOf(task);

    public int Count => Predecessors.Length;

    public IEnumerable<string> Keys => Pairs().Select(p => p.Key);

    public IEnumerable<TaskResult> Values => Pairs().Select(p => p.Value);

    public TaskResult this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"'{key}' is not a hard dependency of this task.");

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out TaskResult value)
    {
        foreach (var predecessor in Predecessors)
        {
            if (plan.Tasks[predecessor].Id == key && Result(predecessor) is { } result)
            {
                value = result;
                return true;
            }
        }

        value = null;
        return false;
    }

    public IEnumerator<KeyValuePair<string, TaskResult>> GetEnumerator() => Pairs().GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private List<KeyValuePair<string, TaskResult>> Pairs()
    {
        var pairs = new List<KeyValuePair<string, TaskResult>>(Count);
        foreach (var predecessor in Predecessors)
        {
            if (Result(predecessor) is { } result)
            {
                pairs.Add(new(plan.Tasks[predecessor].Id, result));
            }
        }

        return pairs;
    }

    private TaskResult? Result(int predecessor)
    {
        // A worker that kept its request past its run reads nothing of the plan's next run: checked before and after
        // the read, since the result may be disposed (and the arrays taken by the next run) in between.
        table.ThrowIfReleased();
        var result = replaced is not null && replaced.TryGetValue(predecessor, out var cut) ? cut : table.Results[predecessor];
        table.ThrowIfReleased(afterReads: true);
        return result;
    }
}
