namespace ParallelFlow.Engine.Execution;

/// <summary>How a run ended.</summary>
public enum RunStatus
{
    /// <summary>Every task succeeded.</summary>
    Succeeded,

    /// <summary>Some task did not succeed.</summary>
    Failed,

    /// <summary>The run was cancelled. Cancelling is not failing.</summary>
    Cancelled,
}
