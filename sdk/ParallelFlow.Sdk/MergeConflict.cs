namespace ParallelFlow.Sdk;

/// <summary>One place where section results disagreed.</summary>
/// <param name="Location">Where: a file and hunk, a JSON key path, a test name.</param>
/// <param name="Description">What disagreed and how it was resolved, if it was.</param>
/// <param name="Resolved">Whether the merger resolved it under its conflict policy; unresolved conflicts need manual review.</param>
public sealed record MergeConflict(string Location, string Description, bool Resolved);
