namespace ParallelFlow.Sdk;

/// <summary>What a merger made of the section results.</summary>
/// <param name="Output">The merged result.</param>
/// <param name="Conflicts">What could not be merged cleanly; empty when nothing conflicted.</param>
public sealed record MergeResult(TaskResult Output, IReadOnlyList<MergeConflict> Conflicts);
