using ParallelFlow.Sdk;
using static ParallelFlow.Plugins.Voting.Tests.Candidates;

namespace ParallelFlow.Plugins.Voting.Tests;

public sealed class WeightedAndParetoTests
{
    private const string SpeedAndBrevity = """
        { "criteria": [
            { "name": "speed", "weight": 3, "metric": "duration" },
            { "name": "brevity", "weight": 1, "metric": "length" } ] }
        """;

    [Fact]
    public async Task Weighted_normalises_each_criterion_and_weighs_them()
    {
        // speed: a 1s, b 2s, c 3s -> 1, 0.5, 0; brevity: 10, 30, 20 chars -> 1, 0, 0.5.
        var request = Request(SpeedAndBrevity,
            Text("a", new string('x', 10), seconds: 1),
            Text("b", new string('x', 30), seconds: 2),
            Text("c", new string('x', 20), seconds: 3));

        var card = await new WeightedScorer().ScoreAsync(request, default);

        Assert.Equal("a", card.Winner);
        Assert.Equal(1.0, card.Scores["a"].Total, 9);
        Assert.Equal((3 * 0.5) / 4, card.Scores["b"].Total, 9);
        Assert.Equal(0.5 / 4, card.Scores["c"].Total, 9);
        Assert.Equal(0.5, card.Scores["b"].Criteria["speed"], 9);
        Assert.Contains("a has the highest weighted score, 1.000", card.Rationale);
        Assert.Contains("best on speed (1), brevity (10)", card.Rationale);
    }

    [Fact]
    public async Task Weighted_breaks_a_tie_by_plan_order_and_says_so()
    {
        var request = Request(SpeedAndBrevity, Text("first", "same", 1), Text("second", "same", 1));

        var card = await new WeightedScorer().ScoreAsync(request, default);

        Assert.Equal("first", card.Winner);
        Assert.Equal(card.Scores["first"].Total, card.Scores["second"].Total);
        Assert.Contains("a tie, broken by plan order", card.Rationale);
    }

    [Fact]
    public async Task Weighted_reads_numbers_from_json_results_and_names_the_ones_missing()
    {
        var request = Request("""{ "criteria": [ { "name": "accuracy", "metric": "json:eval.accuracy" } ] }""",
            Json("a", """{ "eval": { "accuracy": 0.7 } }"""),
            Json("b", """{ "eval": { "accuracy": 0.9 } }"""),
            Json("c", """{ "eval": {} }"""));

        var card = await new WeightedScorer().ScoreAsync(request, default);

        Assert.Equal("b", card.Winner);
        Assert.Equal(0, card.Scores["c"].Total);
        Assert.Contains("c's result has no number at 'eval.accuracy'", card.Rationale);
    }

    [Fact]
    public async Task A_command_criterion_tests_each_output()
    {
        var request = Request("""
            { "criteria": [ { "name": "correct", "command": { "program": "sh", "args": ["-c", "grep -qx 42 {output}"], "parse": "pass" } } ] }
            """,
            Text("wrong", "41"), Text("right", "42"));

        var card = await new WeightedScorer().ScoreAsync(request, default);

        Assert.Equal("right", card.Winner);
        Assert.Equal(1, card.Scores["right"].Criteria["correct"]);
        Assert.Equal(0, card.Scores["wrong"].Criteria["correct"]);
        Assert.Contains("wrong failed the check (exit code 1)", card.Rationale);
    }

    [Fact]
    public void Criteria_problems_name_the_key()
    {
        var problems = new WeightedScorer().ValidateParameters(System.Text.Json.JsonDocument.Parse("""
            { "criteria": [ { "name": "speed", "metric": "durration" }, { "name": "x", "metric": "length", "judge": { "rubric": "r" } } ], "crtieria": 1 }
            """).RootElement);

        Assert.Contains(problems, p => p.Key == "criteria[0].metric" && p.Message.Contains("unknown metric"));
        Assert.Contains(problems, p => p.Key == "criteria[1]" && p.Message.Contains("exactly one of"));
        Assert.Contains(problems, p => p.Key == "crtieria");
    }

    [Fact]
    public async Task Pareto_keeps_the_non_dominated_and_breaks_ties_by_weight()
    {
        // quality (max) and cost (min): a and b trade off, c is beaten by a on both, d ties a exactly.
        var request = Request("""
            { "criteria": [
                { "name": "quality", "weight": 1, "metric": "json:quality" },
                { "name": "cost", "weight": 2, "metric": "json:cost", "goal": "min" } ] }
            """,
            Json("a", """{ "quality": 0.6, "cost": 1 }"""),
            Json("b", """{ "quality": 0.9, "cost": 3 }"""),
            Json("c", """{ "quality": 0.5, "cost": 2 }"""));

        var card = await new ParetoScorer().ScoreAsync(request, default);

        Assert.Equal("a", card.Winner); // cost weighs double: a (0.25*1 + 1*2)/3 beats b (1*1 + 0*2)/3
        Assert.Equal(1, card.Scores["a"].Criteria["pareto_front"]);
        Assert.Equal(1, card.Scores["b"].Criteria["pareto_front"]);
        Assert.Equal(0, card.Scores["c"].Criteria["pareto_front"]);
        Assert.Contains("Pareto front over quality, cost: a, b", card.Rationale);
        Assert.Contains("c is dominated by a", card.Rationale);
        Assert.True(card.Scores["b"].Total > card.Scores["c"].Total, "every front member ranks above every dominated one");
    }

    [Fact]
    public async Task No_candidates_is_a_clear_failure()
    {
        var error = await Assert.ThrowsAsync<FatalTaskException>(async () => await new WeightedScorer().ScoreAsync(Request(SpeedAndBrevity), default));

        Assert.Equal("there are no candidates to score", error.Message);
    }
}
