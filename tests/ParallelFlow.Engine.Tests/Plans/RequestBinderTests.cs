using System.Text.Json;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Workers;

namespace ParallelFlow.Engine.Tests.Plans;

/// <summary>Requests are translated outside the plan binder, into typed parameters; what they leave unsaid comes from
/// settings, not from names written into the engine.</summary>
public sealed class RequestBinderTests
{
    private const string Request = """
        {
          "task_id": "pick",
          "mode": "voting",
          "main_task": { "description": "Write it", "evaluation_criteria": ["speed", "clarity", { "name": "size", "metric": "length" }] },
          "voters": [ "small", { "voter_id": "big", "model": "large", "temperature": 0.2, "timeout_seconds": 30 }, { "voter_id": "tool", "worker": "process", "with": { "command": "true" } } ],
          "aggregation": "weighted_score",
          "quorum": 2,
          "timeout_seconds": 60
        }
        """;

    [Fact]
    public void AVotingRequest_BecomesOneVoteTask_WithTheParametersTheVoteWorkerReads()
    {
        var plan = PlanLoader.Parse(Request, PlanFormat.Json, "request.json");

        var task = Assert.Single(plan.Tasks);
        Assert.Equal(("pick", "vote", 60.0, PlanMode.Voting), (task.Id, task.Worker, task.TimeoutSeconds, plan.Mode));
        var expected = JsonDocument.Parse("""
            {
              "scorer": "weighted", "quorum": 2, "candidate_timeout_seconds": 60,
              "scoring": { "criteria": [ { "name": "speed", "metric": "duration" }, { "name": "clarity", "metric": "agreement" }, { "name": "size", "metric": "length" } ] },
              "candidates": [
                { "name": "small", "worker": "llm", "with": { "model": "small", "prompt": "Write it" } },
                { "name": "big", "worker": "llm", "timeout_seconds": 30, "with": { "model": "large", "prompt": "Write it", "temperature": 0.2 } },
                { "name": "tool", "worker": "process", "with": { "command": "true" } }
              ]
            }
            """).RootElement;
        Assert.True(JsonElement.DeepEquals(expected, task.With), task.With.GetRawText());
    }

    [Fact]
    public void WhatARequestLeavesUnsaid_ComesFromTheCatalogsSettings()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.StageDefaults = StageDefaults.Default with
        {
            ModelWorker = "chat",
            SynthesisMerger = "paragraphs",
            Scorers = new Dictionary<string, string> { ["synthesis"] = "blend", ["weighted_score"] = "score" },
        };

        var synthesis = Request.Replace("weighted_score", "synthesis", StringComparison.Ordinal);

        var bound = PlanLoader.Parse(synthesis, PlanFormat.Json, "request.json");
        Assert.Equal(("synthesis", "lines", "llm"), (
            bound.Tasks[0].With.GetProperty("scorer").GetString(),
            bound.Tasks[0].With.GetProperty("scoring").GetProperty("merger").GetString(),
            bound.Tasks[0].With.GetProperty("candidates")[0].GetProperty("worker").GetString()));

        // Loaded for this catalog, the request names what its settings say; the catalog registers none of them, and
        // the errors say so at the request's own positions.
        var errors = Assert.Throws<PlanValidationException>(() => PlanLoader.Parse(synthesis, PlanFormat.Json, "request.json", catalog)).Errors;
        var messages = string.Join("\n", errors.Select(e => e.ToString()));
        Assert.Contains("'chat'", messages, StringComparison.Ordinal);
        Assert.Contains("'blend'", messages, StringComparison.Ordinal);
        Assert.DoesNotContain("'llm'", messages, StringComparison.Ordinal);
        Assert.All(errors, e => Assert.NotNull(e.Position));
    }

    [Fact]
    public void AnAggregationTheSettingsDoNotKnow_IsAnErrorWithTheKnownOnes()
    {
        var errors = Assert.Throws<PlanValidationException>(() =>
            PlanLoader.Parse(Request.Replace("weighted_score", "average", StringComparison.Ordinal), PlanFormat.Json, "request.json")).Errors;

        var error = Assert.Single(errors);
        Assert.Equal("request.json(6,18): error PF0010: task 'pick': aggregation: 'average' is not one of weighted_score, weighted, consensus, majority, majority_vote, pareto, synthesis, hybrid", error.ToString());
    }
}
