using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Voting;

/// <summary>The decision documentation of a vote: every candidate's outcome, output and scores, the winner and why.</summary>
internal static class VoteRecord
{
    public static JsonElement Write(VoteSpec spec, IReadOnlyList<CandidateOutcome> outcomes, ScoreCard card, string winner, bool decidedEarly)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("kind", "vote");
            writer.WriteString("scorer", spec.Scorer);
            writer.WriteNumber("quorum", spec.Quorum);
            writer.WriteNumber("succeeded", outcomes.Count(o => o.Status == CandidateStatus.Succeeded));
            writer.WriteBoolean("decided_early", decidedEarly);
            writer.WriteString("winner", winner);
            writer.WriteString("output_from", card.Synthesis is null ? "winner" : "synthesis");
            writer.WriteString("rationale", card.Rationale);

            var ranked = card.Scores.OrderByDescending(s => s.Value.Total).Select((s, i) => (s.Key, Rank: i + 1)).ToDictionary(x => x.Key, x => x.Rank);
            writer.WriteStartArray("candidates");
            foreach (var outcome in outcomes)
            {
                writer.WriteStartObject();
                writer.WriteString("name", outcome.Name);
                writer.WriteString("worker", outcome.Worker);
                writer.WriteString("status", outcome.Status switch
                {
                    CandidateStatus.Succeeded => "succeeded",
                    CandidateStatus.TimedOut => "timed_out",
                    CandidateStatus.Cancelled => "cancelled",
                    _ => "failed",
                });
                writer.WriteNumber("duration_seconds", Math.Round(outcome.Duration.TotalSeconds, 6));
                if (outcome.Error is not null)
                {
                    writer.WriteString("error", outcome.Error);
                }

                if (outcome.Result is { } result)
                {
                    if (result.Text is not null)
                    {
                        writer.WriteString("output", result.Text);
                    }

                    if (result.Json is { } json)
                    {
                        writer.WritePropertyName("output_json");
                        json.WriteTo(writer);
                    }

                    Workers.UsageJson.Write(result.Usage, writer);
                }

                if (card.Scores.TryGetValue(outcome.Name, out var score))
                {
                    writer.WriteNumber("total", Math.Round(score.Total, 6));
                    writer.WriteNumber("rank", ranked[outcome.Name]);
                    writer.WriteStartObject("scores");
                    foreach (var (criterion, value) in score.Criteria)
                    {
                        writer.WriteNumber(criterion, Math.Round(value, 6));
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            if (card.Details is { } details)
            {
                writer.WritePropertyName("details");
                details.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}
