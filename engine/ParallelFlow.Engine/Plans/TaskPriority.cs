namespace ParallelFlow.Engine.Plans;

/// <summary>Which ready task gets a free worker first. Within one priority, the task with the longest
/// remaining critical path goes first.</summary>
public enum TaskPriority
{
    /// <summary>Before everything else.</summary>
    Critical = 0,

    /// <summary>Before normal and low.</summary>
    High = 1,

    /// <summary>The default.</summary>
    Normal = 2,

    /// <summary>After everything else.</summary>
    Low = 3,
}
