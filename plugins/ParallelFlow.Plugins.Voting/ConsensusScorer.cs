using System.Globalization;
using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Voting;

/// <summary>
/// The <c>consensus</c> scorer: groups the answers that agree and picks the largest group; its most central answer
/// wins. Agreement is <c>exact</c> text, <c>normalized</c> text (case, spacing and surrounding punctuation ignored),
/// <c>text</c> similarity above a threshold (word and word-pair cosine), or <c>embedding</c> similarity through
/// a worker that returns a vector (the Semantic Kernel plugin's <c>embed</c>). <c>auto</c>, the default, is
/// <c>normalized</c> when every answer is short and <c>text</c> otherwise.
/// </summary>
public sealed class ConsensusScorer : ParallelFlowScorer<ConsensusScorer.Settings>
{
    private static readonly string[] Modes = ["auto", "exact", "normalized", "text", "embedding"];

    /// <summary>A consensus vote's parameters as read from the plan.</summary>
    public sealed class Settings
    {
        internal Settings(string mode, double threshold, int shortAnswerChars, string? embeddingWorker, JsonElement embeddingWith) =>
            (Mode, Threshold, ShortAnswerChars, EmbeddingWorker, EmbeddingWith) = (mode, threshold, shortAnswerChars, embeddingWorker, embeddingWith);

        internal string Mode { get; }

        internal double Threshold { get; }

        internal int ShortAnswerChars { get; }

        internal string? EmbeddingWorker { get; }

        internal JsonElement EmbeddingWith { get; }
    }

    /// <inheritdoc/>
    protected override Settings Bind(ParameterReader reader)
    {
        var mode = reader.OneOf("similarity", Modes) ?? "auto";
        var threshold = reader.Number("threshold", min: 0, max: 1) ?? 0.8;
        var shortAnswerChars = reader.WholeNumber("short_answer_chars", min: 0) ?? 80;
        var embedding = reader.Child("embedding");
        if (embedding is null && mode == "embedding")
        {
            reader.Problem("embedding", "similarity \"embedding\" needs 'embedding': {\"worker\": \"embed\", \"with\": {\"model\": ...}}");
        }

        var worker = embedding?.Text("worker") ?? "embed";
        var with = embedding?.Nested("with") ?? default;
        return new Settings(mode, threshold, shortAnswerChars, embedding is null ? null : worker, with);
    }

    /// <inheritdoc/>
    protected override bool IsDecided(ScoringRequest request, Settings settings, int pendingCandidates)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Mode == "embedding" || request.Candidates.Count == 0)
        {
            return false;
        }

        // Settled when the largest group is ahead of the runner-up by more than the candidates still running.
        var mode = Resolve(request, settings);
        var groups = Group(Similarities(request, mode, null), Threshold(mode, settings)).Select(g => g.Count).OrderDescending().ToList();
        return groups[0] > (groups.Count > 1 ? groups[1] : 0) + pendingCandidates;
    }

    /// <inheritdoc/>
    protected override async ValueTask<ScoreCard> ScoreAsync(ScoringRequest request, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(request);
        var candidates = request.Candidates;
        if (candidates.Count == 0)
        {
            throw new FatalTaskException("there are no candidates to score");
        }

        var mode = Resolve(request, settings);
        var threshold = Threshold(mode, settings);
        var vectors = mode == "embedding" ? await EmbedAsync(request, settings, cancellationToken).ConfigureAwait(false) : null;
        var similarity = Similarities(request, mode, vectors);
        var groups = Group(similarity, threshold);
        var largest = groups.OrderByDescending(g => g.Count).ThenBy(g => g.Min()).First();
        var winner = largest.OrderByDescending(i => Centrality(similarity, largest, i)).ThenBy(i => i).First();
        var scores = new Dictionary<string, CandidateScore>();
        foreach (var group in groups)
        {
            foreach (var i in group)
            {
                var agreement = (double)group.Count / candidates.Count;
                var centrality = Centrality(similarity, group, i);

                // Group size decides; centrality inside the group only orders members of one group.
                scores[candidates[i].Name] = new CandidateScore(agreement + (centrality * 1e-3), new Dictionary<string, double> { ["agreement"] = agreement, ["centrality"] = centrality });
            }
        }

        var names = candidates.Select(c => c.Name).ToArray();
        var described = string.Join("; ", groups.OrderByDescending(g => g.Count).Select(g => $"[{string.Join(", ", g.Select(i => names[i]))}]"));
        var tie = groups.Count(g => g.Count == largest.Count) > 1 ? " (groups of equal size: the one with the earliest candidate wins)" : string.Empty;
        var rationale = string.Create(CultureInfo.InvariantCulture,
            $"{largest.Count} of {candidates.Count} answers agree ({ModeText(mode, threshold)}){tie}; {names[winner]} is the most central of them. Groups: {described}.{WeightedScorer.Failed(request)}");
        return new ScoreCard(scores, rationale) { Winner = names[winner], Details = Details(mode, groups, names) };
    }

    /// <summary>The similarity the vote uses: the one named, or for <c>auto</c>, exact-ish for short answers, text for long ones.</summary>
    private static string Resolve(ScoringRequest request, Settings settings)
    {
        if (settings.Mode != "auto")
        {
            return settings.Mode;
        }

        return request.Candidates.All(c => c.Result.ToString().Trim().Length <= settings.ShortAnswerChars) ? "normalized" : "text";
    }

    /// <summary>How similar two answers must be to agree: equal for the exact modes, else the setting.</summary>
    private static double Threshold(string mode, Settings settings) => mode is "exact" or "normalized" ? 1 : settings.Threshold;

    private static string ModeText(string mode, double threshold) => mode switch
    {
        "exact" => "identical text",
        "normalized" => "the same text once case, spacing and punctuation are ignored",
        "text" => string.Create(CultureInfo.InvariantCulture, $"text similarity of at least {threshold:0.##}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"embedding similarity of at least {threshold:0.##}"),
    };

    private static double[,] Similarities(ScoringRequest request, string mode, double[][]? vectors)
    {
        var texts = request.Candidates.Select(c => c.Result.ToString()).ToArray();
        var normalised = texts.Select(TextSimilarity.Normalise).ToArray();
        var n = texts.Length;
        var matrix = new double[n, n];
        for (var a = 0; a < n; a++)
        {
            for (var b = 0; b < n; b++)
            {
                matrix[a, b] = a == b ? 1 : mode switch
                {
                    "exact" => texts[a] == texts[b] ? 1 : 0,
                    "normalized" => normalised[a] == normalised[b] ? 1 : 0,
                    "embedding" => TextSimilarity.Cosine(vectors![a], vectors[b]),
                    _ => TextSimilarity.Cosine(texts[a], texts[b]),
                };
            }
        }

        return matrix;
    }

    /// <summary>Each answer joins the first group whose first member it is similar enough to; otherwise it starts a group.</summary>
    private static List<List<int>> Group(double[,] similarity, double threshold)
    {
        var groups = new List<List<int>>();
        for (var i = 0; i < similarity.GetLength(0); i++)
        {
            var home = groups.Find(g => similarity[g[0], i] >= threshold - 1e-12);
            if (home is null)
            {
                groups.Add([i]);
            }
            else
            {
                home.Add(i);
            }
        }

        return groups;
    }

    private static double Centrality(double[,] similarity, List<int> group, int i) =>
        group.Count == 1 ? 1 : group.Where(j => j != i).Average(j => similarity[i, j]);

    private static async Task<double[][]> EmbedAsync(ScoringRequest request, Settings settings, CancellationToken cancellationToken)
    {
        var services = request.Services ?? throw new FatalTaskException("embedding similarity needs the host's task services");
        var worker = settings.EmbeddingWorker ?? "embed";
        var vectors = new double[request.Candidates.Count][];
        for (var i = 0; i < vectors.Length; i++)
        {
            var parameters = Parameters.With(settings.EmbeddingWith, "text", request.Candidates[i].Result.ToString());
            var result = await services.InvokeWorkerAsync(worker, parameters, "embed a candidate answer", null, cancellationToken).ConfigureAwait(false);
            var json = result.Json ?? (result.Text is { } text ? JsonDocument.Parse(text).RootElement.Clone() : default);
            if (json.ValueKind != JsonValueKind.Array)
            {
                throw new FatalTaskException($"worker '{worker}' returned no vector for {request.Candidates[i].Name}");
            }

            vectors[i] = [.. json.EnumerateArray().Select(v => v.GetDouble())];
        }

        return vectors;
    }

    private static JsonElement Details(string mode, List<List<int>> groups, string[] names)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("similarity", mode);
            writer.WriteStartArray("groups");
            foreach (var group in groups.OrderByDescending(g => g.Count))
            {
                writer.WriteStartArray();
                foreach (var i in group)
                {
                    writer.WriteStringValue(names[i]);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return JsonDocument.Parse(stream.ToArray()).RootElement.Clone();
    }
}
