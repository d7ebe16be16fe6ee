using System.Collections.Immutable;

namespace ParallelFlow.Engine.Workers;

/// <summary>
/// What voting and sectioning leave unsaid, in plans and in requests: the scorer of a vote task that names none, the
/// merger of a section task that names none, which worker a request's voter that names only a model runs on, which
/// scorer each request <c>aggregation</c> means, which worker a sectioning request's components run on. These are
/// settings, not engine code: a host whose plugins name things otherwise sets its own through
/// <see cref="Workers.WorkerCatalog.StageDefaults"/>, before the catalog's engine compiles its first plan. Immutable:
/// the collections given are copied.
/// </summary>
/// <remarks>The defaults name the workers the repository's plugins register: <c>llm</c> (Semantic Kernel),
/// <c>concat</c> and <c>lines</c> (merging), <c>weighted</c>, <c>consensus</c>, <c>pareto</c> and <c>synthesis</c>
/// (voting). A request that uses one whose plugin is not loaded gets the usual unknown-worker error at its position.</remarks>
public sealed record StageDefaults
{
    /// <summary>The defaults for the repository's plugins.</summary>
    public static StageDefaults Default { get; } = new();

    /// <summary>The scorer of a vote task that names none.</summary>
    public string VoteScorer { get; init; } = "weighted";

    /// <summary>The worker of a request's voter given as a model name, or as an object without a <c>worker</c>.</summary>
    public string ModelWorker { get; init; } = "llm";

    /// <summary>The worker of a sectioning request's components when it names none.</summary>
    public string SectionWorker { get; init; } = "llm";

    /// <summary>The merger of a section task, or of a sectioning request, that names none.</summary>
    public string SectionMerger { get; init; } = "concat";

    /// <summary>The merger that combines the best answers of a <c>synthesis</c> (or <c>hybrid</c>) vote.</summary>
    public string SynthesisMerger { get; init; } = "lines";

    /// <summary>The scorer each <c>aggregation</c> of a voting request means.</summary>
    public IReadOnlyDictionary<string, string> Scorers { get => _scorers; init => _scorers = Plans.Immutable.Dictionary(value); }

    private readonly IReadOnlyDictionary<string, string> _scorers = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["weighted_score"] = "weighted",
        ["weighted"] = "weighted",
        ["consensus"] = "consensus",
        ["majority"] = "consensus",
        ["majority_vote"] = "consensus",
        ["pareto"] = "pareto",
        ["synthesis"] = "synthesis",
        ["hybrid"] = "synthesis",
    }.AsReadOnly();

    /// <summary>Aggregations that group agreeing answers rather than weigh criteria: they take no <c>evaluation_criteria</c>.</summary>
    public IReadOnlySet<string> GroupingAggregations { get => _grouping; init => _grouping = value.ToImmutableHashSet(StringComparer.Ordinal); }

    private readonly IReadOnlySet<string> _grouping = ImmutableHashSet.Create(StringComparer.Ordinal, "consensus", "majority", "majority_vote");

    /// <summary>Aggregations that combine the best answers with <see cref="SynthesisMerger"/>.</summary>
    public IReadOnlySet<string> CombiningAggregations { get => _combining; init => _combining = value.ToImmutableHashSet(StringComparer.Ordinal); }

    private readonly IReadOnlySet<string> _combining = ImmutableHashSet.Create(StringComparer.Ordinal, "synthesis", "hybrid");

    /// <summary>Criterion names of requests that map onto a metric of the result; any other name is measured by
    /// <see cref="FallbackMetric"/>.</summary>
    public IReadOnlyDictionary<string, string> CriterionMetrics { get => _metrics; init => _metrics = Plans.Immutable.Dictionary(value, StringComparer.OrdinalIgnoreCase); }

    private readonly IReadOnlyDictionary<string, string> _metrics = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["speed"] = "duration",
        ["performance"] = "duration",
        ["latency"] = "duration",
        ["duration"] = "duration",
        ["cost"] = "cost",
        ["tokens"] = "tokens",
        ["efficiency"] = "tokens",
        ["brevity"] = "length",
        ["conciseness"] = "length",
        ["length"] = "length",
    }.AsReadOnly();

    /// <summary>The metric of a criterion given by a name <see cref="CriterionMetrics"/> does not know, and of a vote
    /// with no criteria: agreement with the other answers.</summary>
    public string FallbackMetric { get; init; } = "agreement";
}
