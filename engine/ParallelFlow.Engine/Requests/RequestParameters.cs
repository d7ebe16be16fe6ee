using System.Text.Json;
using System.Text.Json.Serialization;

namespace ParallelFlow.Engine.Requests;

/// <summary>The <c>with</c> of the vote task a voting request becomes: typed here, serialised by System.Text.Json
/// (source-generated), read back by the <c>vote</c> worker like any plan's vote task.</summary>
internal sealed record VoteParameters(
    string Scorer,
    int? Quorum,
    double? CandidateTimeoutSeconds,
    ScoringParameters? Scoring,
    List<CandidateParameters> Candidates);

internal sealed record ScoringParameters(string? Merger, List<JsonElement>? Criteria);

internal sealed record CriterionParameters(string Name, string Metric);

internal sealed record CandidateParameters(string Name, string Worker, JsonElement? TimeoutSeconds, Dictionary<string, JsonElement> With);

/// <summary>The <c>with</c> of the section task a sectioning request becomes.</summary>
internal sealed record SectionParameters(
    List<SectionItem> Sections,
    string Worker,
    JsonElement With,
    int? Parallelism,
    int? Capacity,
    string Merger,
    JsonElement? Merging);

internal sealed record SectionItem(string Name, string Value);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VoteParameters))]
[JsonSerializable(typeof(SectionParameters))]
[JsonSerializable(typeof(CriterionParameters))]
internal sealed partial class RequestJsonContext : JsonSerializerContext;
