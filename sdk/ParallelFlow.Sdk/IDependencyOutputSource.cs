namespace ParallelFlow.Sdk;

/// <summary>Makes a task's view of its dependencies' results when a worker first reads
/// <see cref="TaskRequest.DependencyOutputs"/> (the engine's runs).</summary>
internal interface IDependencyOutputSource
{
    /// <summary>The results of the task's hard dependencies, by task id.</summary>
    IReadOnlyDictionary<string, TaskResult> DependencyOutputsOf(int task);
}
