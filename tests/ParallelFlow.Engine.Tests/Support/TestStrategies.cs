using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Support;

/// <summary>Orders ready tasks by how many tasks depend on them, most first, then by plan position, last first.</summary>
public sealed class MostDependentsFirst : ParallelFlowStrategy
{
    public override int Compare(in ReadyTask x, in ReadyTask y)
    {
        var c = y.Dependents.CompareTo(x.Dependents);
        return c != 0 ? c : y.Index.CompareTo(x.Index);
    }
}

/// <summary>A strategy whose comparison always throws, as a buggy plugin's might.</summary>
public sealed class ThrowingStrategy : ParallelFlowStrategy
{
    public override int Compare(in ReadyTask x, in ReadyTask y) => throw new InvalidOperationException("broken comparison");
}

/// <summary>Records what the engine tells a strategy about each ready task, and keeps plan order.</summary>
public sealed class RecordingStrategy : ParallelFlowStrategy
{
    public Dictionary<string, ReadyTask> Seen { get; } = [];

    public override int Compare(in ReadyTask x, in ReadyTask y)
    {
        Seen[x.Id] = x;
        Seen[y.Id] = y;
        return x.Index.CompareTo(y.Index);
    }
}
