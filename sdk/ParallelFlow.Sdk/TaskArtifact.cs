namespace ParallelFlow.Sdk;

/// <summary>A file or other artifact a task produced.</summary>
/// <param name="Name">A short name for the artifact, unique within its task.</param>
/// <param name="Path">Where the artifact is, as a file path or URI.</param>
/// <param name="MediaType">The artifact's media type, when known.</param>
public sealed record TaskArtifact(string Name, string Path, string? MediaType = null);
