using System.Collections;

namespace ParallelFlow.Engine.Execution;

/// <summary>A run's per-task results, made from the run's arrays the first time anyone reads them, so a run whose
/// caller only needs its status allocates nothing per task at the end.</summary>
internal sealed class LazyTaskResults(int count, Func<int, TaskRunResult> create) : IReadOnlyList<TaskRunResult>
{
    private TaskRunResult[]? _items;

    public int Count => count;

    public TaskRunResult this[int index] => Items[index];

    private TaskRunResult[] Items => LazyInitializer.EnsureInitialized(ref _items, () =>
    {
        var items = new TaskRunResult[count];
        for (var i = 0; i < count; i++)
        {
            items[i] = create(i);
        }

        return items;
    });

    public IEnumerator<TaskRunResult> GetEnumerator() => ((IEnumerable<TaskRunResult>)Items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
