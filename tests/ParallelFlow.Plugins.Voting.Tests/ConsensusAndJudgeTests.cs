using System.Text.Json;
using ParallelFlow.Sdk;
using static ParallelFlow.Plugins.Voting.Tests.Candidates;

namespace ParallelFlow.Plugins.Voting.Tests;

public sealed class ConsensusAndJudgeTests
{
    [Fact]
    public async Task Short_answers_agree_once_normalised_and_the_largest_group_wins()
    {
        var request = Request("{}", Text("a", "41"), Text("b", " 42."), Text("c", "42"), Text("d", "The answer"));

        var card = await new ConsensusScorer().ScoreAsync(request, default);

        Assert.Equal("b", card.Winner);
        Assert.Equal(0.5, card.Scores["c"].Criteria["agreement"]);
        Assert.Equal(0.25, card.Scores["a"].Criteria["agreement"]);
        Assert.Contains("2 of 4 answers agree (the same text once case, spacing and punctuation are ignored)", card.Rationale);
        Assert.Contains("Groups: [b, c]; [a]; [d]", card.Rationale);
    }

    [Fact]
    public async Task Free_text_groups_by_similarity_threshold()
    {
        var request = Request("""{ "similarity": "text", "threshold": 0.5 }""",
            Text("a", "The cat sat on the warm mat by the door and slept all afternoon."),
            Text("b", "A dog ran across the busy street to catch a red ball."),
            Text("c", "The cat sat on the mat by the door and slept all afternoon long."));

        var card = await new ConsensusScorer().ScoreAsync(request, default);

        Assert.Equal("a", card.Winner);
        Assert.Equal(2.0 / 3, card.Scores["c"].Criteria["agreement"], 9);
        Assert.Equal(1.0 / 3, card.Scores["b"].Criteria["agreement"], 9);
    }

    [Fact]
    public async Task Equal_groups_go_to_the_earliest_candidate()
    {
        var card = await new ConsensusScorer().ScoreAsync(Request("{}", Text("x", "yes"), Text("y", "no"), Text("z", "no"), Text("w", "yes")), default);

        Assert.Equal("x", card.Winner);
        Assert.Contains("groups of equal size", card.Rationale);
    }

    [Theory]
    [InlineData(3, 2, true)]   // three agree, two still running: the rest cannot catch up
    [InlineData(2, 2, false)]  // two agree, two running: a tie is still possible
    [InlineData(2, 1, true)]
    public void Consensus_decides_early_only_when_the_outcome_cannot_change(int agreeing, int pending, bool decided)
    {
        var finished = Enumerable.Range(0, agreeing).Select(i => Text($"c{i}", "42")).ToArray();

        Assert.Equal(decided, new ConsensusScorer().IsDecided(Request("{}", finished), pending));
    }

    [Fact]
    public async Task Embedding_similarity_uses_the_vectors_an_embed_worker_returns()
    {
        var vectors = new Dictionary<string, string> { ["alpha"] = "[1,0,0]", ["alpha!"] = "[0.95,0.1,0]", ["beta"] = "[0,1,0]" };
        var services = new ScriptedServices((_, with) => new TaskResult { Json = JsonDocument.Parse(vectors[with.GetProperty("text").GetString()!]).RootElement });
        var request = Request("""{ "similarity": "embedding", "threshold": 0.9, "embedding": { "worker": "embed", "with": { "model": "e" } } }""",
            Text("p", "beta"), Text("q", "alpha"), Text("r", "alpha!"));

        var card = await new ConsensusScorer().ScoreAsync(new ScoringRequest { TaskId = request.TaskId, With = request.With, Candidates = request.Candidates, Services = services }, default);

        Assert.Equal("q", card.Winner);
        Assert.Equal(3, services.Calls.Count);
        Assert.All(services.Calls, c => Assert.Equal("e", c.With.GetProperty("model").GetString()));
    }

    [Fact]
    public async Task A_judge_sees_anonymised_answers_in_a_fresh_order_each_time()
    {
        var prompts = new List<string>();
        var services = new ScriptedServices((_, with) =>
        {
            var prompt = with.GetProperty("prompt").GetString()!;
            prompts.Add(prompt);
            return TaskResult.FromText(prompt.Contains("Rate Response 1") ? "9" : "Score: 4 of 10");
        });
        var candidates = Enumerable.Range(0, 6).Select(i => Text($"candidate-{i}", $"answer number {i}", model: "small")).ToArray();
        var request = new ScoringRequest
        {
            TaskId = "vote",
            Description = "write a line",
            With = JsonDocument.Parse("""{ "criteria": [ { "name": "quality", "judge": { "with": { "model": "judge" }, "rubric": "clear and correct", "seed": 3 } } ] }""").RootElement,
            Candidates = candidates,
            Services = services,
        };

        var card = await new WeightedScorer().ScoreAsync(request, default);

        Assert.Equal(6, prompts.Count);
        Assert.All(prompts, p => Assert.DoesNotContain("candidate-", p));
        Assert.All(prompts, p => Assert.DoesNotContain("small", p));
        Assert.All(prompts, p => Assert.Contains("Rubric: clear and correct", p));
        var orders = prompts.Select(p => string.Join(",", System.Text.RegularExpressions.Regex.Matches(p, "answer number (\\d)").Select(m => m.Groups[1].Value))).ToList();
        Assert.True(orders.Distinct().Count() > 1, "the answers must be shuffled between judgements");
        Assert.All(services.Calls, c => Assert.Equal("llm", c.Worker));
        Assert.Contains(card.Scores.Values, s => s.Criteria["quality"] == 1);
    }

    [Fact]
    public async Task A_judge_sharing_a_candidates_model_is_refused()
    {
        var request = new ScoringRequest
        {
            TaskId = "vote",
            With = JsonDocument.Parse("""{ "criteria": [ { "name": "quality", "judge": { "with": { "model": "small" }, "rubric": "r" } } ] }""").RootElement,
            Candidates = [Text("a", "x", model: "small"), Text("b", "y", model: "large")],
            Services = new ScriptedServices((_, _) => TaskResult.FromText("5")),
        };

        var error = await Assert.ThrowsAsync<FatalTaskException>(async () => await new WeightedScorer().ScoreAsync(request, default));

        Assert.Contains("the judge's model 'small' is also candidate 'a''s model", error.Message);
    }

    [Fact]
    public async Task Synthesis_combines_the_top_candidates_and_records_the_best_as_winner()
    {
        var services = new ScriptedServices((_, _) => TaskResult.Empty);
        var request = new ScoringRequest
        {
            TaskId = "vote",
            With = JsonDocument.Parse("""{ "criteria": [ { "name": "brevity", "metric": "length" } ], "top": 2, "merger": "lines" }""").RootElement,
            Candidates = [Text("long", "a much longer answer"), Text("short", "short"), Text("mid", "medium one")],
            Services = services,
        };

        var card = await new SynthesisScorer().ScoreAsync(request, default);

        Assert.Equal("short", card.Winner);
        Assert.Equal("short\nmedium one", card.Synthesis!.Text);
        Assert.Contains("The top 2 (short, mid) were combined by merger 'lines'", card.Rationale);
    }
}
