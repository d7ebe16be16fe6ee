using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Voting;

/// <summary>
/// Every candidate measured on every criterion, raw and normalised to 0..1 (1 is best) by min-max over the
/// candidates, so criteria in seconds, tokens and judge points can be weighed together.
/// </summary>
internal sealed class CriteriaTable
{
    private CriteriaTable(IReadOnlyList<Criterion> criteria, IReadOnlyList<Candidate> candidates, double?[][] raw, double[][] normalised, List<string> notes)
    {
        Criteria = criteria;
        Candidates = candidates;
        Raw = raw;
        Normalised = normalised;
        Notes = notes;
    }

    public IReadOnlyList<Criterion> Criteria { get; }

    public IReadOnlyList<Candidate> Candidates { get; }

    /// <summary>[criterion][candidate], null when it could not be measured.</summary>
    public double?[][] Raw { get; }

    /// <summary>[criterion][candidate] in 0..1; an unmeasured candidate gets 0, a criterion where all are equal gives 1.</summary>
    public double[][] Normalised { get; }

    public List<string> Notes { get; }

    public static async Task<CriteriaTable> MeasureAsync(IReadOnlyList<Criterion> criteria, ScoringRequest request, CancellationToken cancellationToken)
    {
        var notes = new List<string>();
        var raw = new double?[criteria.Count][];
        var normalised = new double[criteria.Count][];
        for (var k = 0; k < criteria.Count; k++)
        {
            raw[k] = await criteria[k].MeasureAsync(request, notes, cancellationToken).ConfigureAwait(false);
            normalised[k] = Normalise(raw[k], criteria[k].Goal);
        }

        return new CriteriaTable(criteria, request.Candidates, raw, normalised, notes);
    }

    internal static double[] Normalise(double?[] values, Goal goal)
    {
        var known = values.Where(v => v.HasValue).Select(v => v!.Value).ToList();
        var result = new double[values.Length];
        if (known.Count == 0)
        {
            return result;
        }

        double min = known.Min(), max = known.Max();
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] is not { } v)
            {
                continue;
            }

            result[i] = max - min < 1e-12 ? 1 : goal == Goal.Max ? (v - min) / (max - min) : (max - v) / (max - min);
        }

        return result;
    }

    /// <summary>The weighted mean of the normalised values of candidate <paramref name="c"/>.</summary>
    public double Total(int c)
    {
        var weights = Criteria.Sum(k => k.Weight);
        return weights <= 0 ? 0 : Criteria.Select((k, i) => k.Weight * Normalised[i][c]).Sum() / weights;
    }

    public CandidateScore Score(int c) =>
        new(Total(c), Criteria.Select((k, i) => (k.Name, Normalised[i][c])).ToDictionary(x => x.Name, x => x.Item2));

    /// <summary>"correctness 1 (weight 0.5)" style: where candidate <paramref name="c"/> was best.</summary>
    public string Strengths(int c)
    {
        var best = Criteria.Select((k, i) => (k, i)).Where(x => Normalised[x.i][c] >= 1 - 1e-9).Select(x => $"{x.k.Name} ({Describe(x.i, c)})").ToList();
        return best.Count == 0 ? "best on no single criterion" : $"best on {string.Join(", ", best)}";
    }

    public string Describe(int k, int c) => Raw[k][c] is { } v ? Criterion.Format(v) : "not measured";

    public JsonElement Details(Action<Utf8JsonWriter>? extra = null)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("criteria");
            for (var k = 0; k < Criteria.Count; k++)
            {
                writer.WriteStartObject();
                writer.WriteString("name", Criteria[k].Name);
                writer.WriteNumber("weight", Criteria[k].Weight);
                writer.WriteString("goal", Criteria[k].Goal == Goal.Max ? "max" : "min");
                writer.WriteString("measured_by", Criteria[k].Judge is not null ? "judge" : Criteria[k].Command is not null ? "command" : Criteria[k].Metric);
                writer.WriteStartObject("raw");
                for (var c = 0; c < Candidates.Count; c++)
                {
                    if (Raw[k][c] is { } v)
                    {
                        writer.WriteNumber(Candidates[c].Name, v);
                    }
                    else
                    {
                        writer.WriteNull(Candidates[c].Name);
                    }
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("notes");
            foreach (var note in Notes)
            {
                writer.WriteStringValue(note);
            }

            writer.WriteEndArray();
            extra?.Invoke(writer);
            writer.WriteEndObject();
        }

        return JsonDocument.Parse(stream.ToArray()).RootElement.Clone();
    }
}
