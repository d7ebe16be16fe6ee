using System.Text.Json;

namespace ParallelFlow.Cli.Tests;

/// <summary>
/// The voting stage end to end through the real command: the local model served by <c>parallelflow-model-server</c>
/// on 127.0.0.1, reached by Semantic Kernel's OpenAI connector inside a second <c>parallelflow run</c>.
/// </summary>
public sealed class VotingCommandTests
{
    // The first 16 tokens of llama2.c's own greedy continuation (see Llama2ModelTests).
    private const string GreedyOnceUponATime = ", there was a little girl named Lily. She loved to play outside in";

    [Fact]
    public async Task A_vote_over_the_openai_connector_reaches_the_served_model_and_keeps_the_key_secret()
    {
        // The server's token is the client's key: both come from the environment, neither is ever printed.
        const string secret = "sk-test-0123456789-do-not-print";
        using var server = CliProcess.StartModelServer(["--urls", "http://127.0.0.1:0"], waitForLine: "Serving ",
            environment: new Dictionary<string, string> { ["PARALLELFLOW_MODEL_TOKEN"] = secret });
        var line = await server.LineAsync();
        var endpoint = line[(line.IndexOf("http://", StringComparison.Ordinal))..line.IndexOf(" (", StringComparison.Ordinal)];
        using var folderScratch = new TempFolder("parallelflow-vote-");
        var folder = folderScratch.Path;
        var plugins = Path.Combine(folder, "plugins.json");
        File.WriteAllText(plugins, $$"""
            { "plugins": [
              { "name": "voting", "path": "{{Path.Combine(CliProcess.RepositoryRoot, "artifacts/plugins/ParallelFlow.Plugins.Voting/ParallelFlow.Plugins.Voting.dll")}}" },
              { "name": "semantic-kernel", "path": "{{Path.Combine(CliProcess.RepositoryRoot, "artifacts/plugins/ParallelFlow.Plugins.SemanticKernel/ParallelFlow.Plugins.SemanticKernel.dll")}}",
                "settings": { "models": {
                  "served": { "provider": "openai-compatible", "endpoint": "{{endpoint}}", "model": "stories15m", "api_key_env": "PF_TEST_KEY" },
                  "served-q8": { "provider": "openai-compatible", "endpoint": "{{endpoint}}", "model": "stories15m-q8", "api_key_env": "PF_TEST_KEY" },
                  "served-warm": { "provider": "openai-compatible", "endpoint": "{{endpoint}}", "model": "stories15m", "api_key_env": "PF_TEST_KEY" } } } } ] }
            """);
        var plan = Path.Combine(folder, "vote.json");
        File.WriteAllText(plan, """
            { "tasks": [ { "id": "story", "worker": "vote", "with": {
                "scorer": "consensus", "early_decision": false,
                "scoring": { "similarity": "text", "threshold": 0.6 },
                "candidates": [
                  { "name": "f32", "worker": "llm", "with": { "model": "served", "prompt": "Once upon a time", "max_tokens": 16 } },
                  { "name": "q8", "worker": "llm", "with": { "model": "served-q8", "prompt": "Once upon a time", "max_tokens": 16 } },
                  { "name": "warm", "worker": "llm", "with": { "model": "served-warm", "prompt": "Once upon a time", "max_tokens": 16, "temperature": 1.0, "seed": 5 } } ] } } ] }
            """);
        var report = Path.Combine(folder, "report.json");

        var (exitCode, output, error) = await CliProcess.RunAsync(
            new Dictionary<string, string> { ["PF_TEST_KEY"] = secret },
            "run", plan, "--plugins", plugins, "--report", report);

        Assert.True(exitCode == 0, error + output);
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        var task = json.RootElement.GetProperty("results")[0];
        Assert.Equal(GreedyOnceUponATime, task.GetProperty("output").GetString());
        var candidates = task.GetProperty("decision").GetProperty("candidates").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal(GreedyOnceUponATime, candidates["f32"].GetProperty("output").GetString());
        Assert.Equal(16, candidates["f32"].GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal(5, candidates["f32"].GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.NotEqual(GreedyOnceUponATime, candidates["warm"].GetProperty("output").GetString());
        Assert.Contains("POST /v1/chat/completions stories15m-q8: 16 tokens", server.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, output + error + File.ReadAllText(report) + server.Out + server.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_voting_request_runs_as_it_is()
    {
        using var folderScratch = new TempFolder("parallelflow-request-");
        var folder = folderScratch.Path;
        var request = Path.Combine(folder, "request.json");
        File.WriteAllText(request, """
            {
              "task_id": "short-story",
              "mode": "voting",
              "main_task": { "description": "Once upon a time", "evaluation_criteria": ["quality", { "name": "brevity", "weight": 0.5, "metric": "length" }] },
              "voters": [
                { "voter_id": "full", "model": "stories15m", "max_tokens": 12 },
                { "voter_id": "eight-bit", "model": "stories15m-q8", "max_tokens": 12 }
              ],
              "aggregation": "weighted_score",
              "timeout_seconds": 120
            }
            """);
        var report = Path.Combine(folder, "report.json");

        var (exitCode, output, error) = await CliProcess.RunAsync("run", request, "--report", report);

        Assert.True(exitCode == 0, error + output);
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        Assert.Equal(("short-story", "voting"), (json.RootElement.GetProperty("task_id").GetString(), json.RootElement.GetProperty("mode").GetString()));
        var decision = json.RootElement.GetProperty("results")[0].GetProperty("decision");
        Assert.Equal("weighted", decision.GetProperty("scorer").GetString());
        var measuredBy = decision.GetProperty("details").GetProperty("criteria").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("measured_by").GetString());
        Assert.Equal("agreement", measuredBy["quality"]);
        Assert.Equal("length", measuredBy["brevity"]);
        Assert.Contains("Vote short-story (weighted): winner ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_synthesis_request_runs_without_the_documentation_sample()
    {
        using var folderScratch = new TempFolder("parallelflow-request-");
        var folder = folderScratch.Path;
        var plugins = Path.Combine(folder, "plugins.json");
        File.WriteAllText(plugins, $$"""
            { "plugins": [
              { "name": "voting", "path": "{{Path.Combine(CliProcess.RepositoryRoot, "artifacts/plugins/ParallelFlow.Plugins.Voting/ParallelFlow.Plugins.Voting.dll")}}" },
              { "name": "merging", "path": "{{Path.Combine(CliProcess.RepositoryRoot, "artifacts/plugins/ParallelFlow.Plugins.Merging/ParallelFlow.Plugins.Merging.dll")}}" },
              { "name": "semantic-kernel", "path": "{{Path.Combine(CliProcess.RepositoryRoot, "artifacts/plugins/ParallelFlow.Plugins.SemanticKernel/ParallelFlow.Plugins.SemanticKernel.dll")}}" }
            ] }
            """);
        var request = Path.Combine(folder, "request.json");
        File.WriteAllText(request, """
            {
              "task_id": "combined",
              "mode": "voting",
              "main_task": { "description": "Once upon a time" },
              "voters": [ { "voter_id": "a", "model": "stories15m", "max_tokens": 8 }, { "voter_id": "b", "model": "stories15m-q8", "max_tokens": 8 } ],
              "aggregation": "synthesis"
            }
            """);
        var report = Path.Combine(folder, "report.json");

        var (exitCode, output, error) = await CliProcess.RunAsync("run", request, "--plugins", plugins, "--report", report);

        Assert.True(exitCode == 0, error + output);
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        var decision = json.RootElement.GetProperty("results")[0].GetProperty("decision");
        Assert.Equal("synthesis", decision.GetProperty("scorer").GetString());
    }

    [Fact]
    public async Task A_typo_in_a_voting_request_points_at_the_voter()
    {
        using var folderScratch = new TempFolder("parallelflow-request-");
        var folder = folderScratch.Path;
        var request = Path.Combine(folder, "request.json");
        File.WriteAllText(request, """
            {
              "task_id": "typo",
              "mode": "voting",
              "main_task": { "description": "Once upon a time" },
              "voters": [
                { "voter_id": "a", "model": "stories15m" },
                { "voter_id": "b", "modle": "stories15m-q8" },
                { "voter_id": "c", "model": "stories99m" }
              ],
              "aggregation": "weighted_scores"
            }
            """);

        var (exitCode, _, error) = await CliProcess.RunAsync("run", request);

        Assert.Equal(2, exitCode);
        Assert.Contains("request.json(7,24): error PF0002: voter 2: unknown key 'modle'. Did you mean 'model'?", error, StringComparison.Ordinal);
        Assert.Contains("request.json(8,24): error PF0011: task 'typo': with: candidate 'c': unknown model 'stories99m'", error, StringComparison.Ordinal);
        Assert.Contains("request.json(10,18): error PF0010", error, StringComparison.Ordinal);
        Assert.Contains("Did you mean 'weighted_score'?", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }
}
