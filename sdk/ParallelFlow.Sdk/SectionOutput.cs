namespace ParallelFlow.Sdk;

/// <summary>The result of one section of a task.</summary>
/// <param name="Name">The section's name, unique within its task.</param>
/// <param name="Result">What the section produced.</param>
public sealed record SectionOutput(string Name, TaskResult Result);
