using System.Text.Json;

namespace ParallelFlow.Sdk;

/// <summary>The section results of one task, handed to a <see cref="ParallelFlowMerger"/>.</summary>
public sealed class MergeRequest
{
    /// <summary>The section task's id.</summary>
    public required string TaskId { get; init; }

    /// <summary>The merger's parameters from the plan.</summary>
    public JsonElement With { get; init; }

    /// <summary>The parameters as the merger bound them (<see cref="ParallelFlowMerger.BindParameters"/>), or null.</summary>
    public object? Parameters { get; init; }

    /// <summary>The results of the sections, in section order.</summary>
    public required IReadOnlyList<SectionOutput> Sections { get; init; }

    /// <summary>The other workers and mergers of the catalog, when the engine calls.</summary>
    public ITaskServices? Services { get; init; }
}
