using System.Text;
using System.Text.Json;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using ParallelFlow.Engine.Plugins;
using ParallelFlow.Engine.Workers;
using ParallelFlow.LocalModel.Tests;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.SemanticKernel.Tests;

[Collection(Stories15MGroup.Name)]
public sealed class SemanticKernelPluginTests(Stories15MFixture fixture)
{
    private const string Greedy = ", there was a little girl named Lily. She loved to play outside in the sunshine. One day, she saw a big, red ball in the sky. It was the sun";

    [Fact]
    public async Task The_local_model_is_a_chat_completion_service()
    {
        IChatCompletionService service = new LocalChatCompletionService("stories15m", _ => Task.FromResult(fixture.Load()));
        var history = new ChatHistory();
        history.AddUserMessage("Once upon a time");
        var settings = new OpenAIPromptExecutionSettings { Temperature = 0, MaxTokens = 39 };

        var reply = await service.GetChatMessageContentAsync(history, settings);
        var streamed = new StringBuilder();
        await foreach (var piece in service.GetStreamingChatMessageContentsAsync(history, settings))
        {
            streamed.Append(piece.Content);
        }

        Assert.Equal(Greedy, reply.Content);
        Assert.Equal(Greedy, streamed.ToString());
        Assert.Equal("stories15m", reply.ModelId);
        Assert.Equal(39, reply.Metadata!["OutputTokens"]);
    }

    [Fact]
    public async Task The_llm_worker_fills_its_prompt_from_dependency_outputs_and_reports_usage()
    {
        var catalog = Register("""{ "model_cache": "CACHE" }""".Replace("CACHE", Path.GetDirectoryName(fixture.Files.ModelPath)!, StringComparison.Ordinal));
        catalog.TryGetWorker("llm", out var llm);

        var result = await llm!.ExecuteAsync(Request("""{ "model": "stories15m-q8", "prompt": "{{opening}} upon a time", "max_tokens": 8 }""", ("opening", "Once")), default);

        Assert.Equal(8, result.Usage.OutputTokens);
        Assert.Equal(5, result.Usage.InputTokens);
        Assert.False(string.IsNullOrWhiteSpace(result.Text));
    }

    [Fact]
    public async Task A_placeholder_without_a_dependency_fails_with_its_name()
    {
        var catalog = Register("{}");
        catalog.TryGetWorker("llm", out var llm);

        var error = await Assert.ThrowsAsync<FatalTaskException>(async () => await llm!.ExecuteAsync(Request("""{ "prompt": "{{missing}}" }"""), default));

        Assert.Contains("the prompt uses {{missing}}, but 'missing' is not one of the task's dependencies", error.Message);
    }

    [Fact]
    public void Parameters_are_checked_against_the_declared_models()
    {
        var catalog = Register("""{ "models": { "small": { "provider": "local", "precision": "q4" } } }""");
        catalog.TryGetWorker("llm", out var llm);

        var problems = llm!.ValidateParameters(JsonDocument.Parse("""{ "model": "large", "temperature": 3, "max_token": 5 }""").RootElement);

        Assert.Contains(problems, p => p.Key == "model" && p.Message == "unknown model 'large'. The models are small");
        Assert.Contains(problems, p => p.Key == "temperature");
        Assert.Contains(problems, p => p.Key == "max_token" && p.Message.Contains("unknown parameter"));
    }

    [Fact]
    public void A_key_written_into_the_settings_is_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Register("""
            { "models": { "gpt": { "provider": "openai", "model": "gpt-4o-mini", "api_key": "sk-live-secret" } } }
            """));

        Assert.Contains("keys do not go in plugins.json; put the key in an environment variable and name it with 'api_key_env'", error.Message);
        Assert.DoesNotContain("sk-live-secret", error.Message);
    }

    [Fact]
    public async Task A_missing_key_names_the_variable_and_nothing_else()
    {
        var variable = $"PF_UNSET_{Guid.NewGuid():N}";
        var catalog = Register($$"""{ "models": { "gpt": { "provider": "openai", "model": "gpt-4o-mini", "api_key_env": "{{variable}}" } } }""");
        catalog.TryGetWorker("llm", out var llm);

        var error = await Assert.ThrowsAsync<FatalTaskException>(async () => await llm!.ExecuteAsync(Request("""{ "prompt": "hello" }"""), default));

        Assert.Equal($"model 'gpt' reads its key from the environment variable {variable}, which is not set", error.Message);
    }

    [Fact]
    public void Settings_problems_name_the_model()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Register("""
            { "models": { "a": { "provider": "azure-openai", "api_key_env": "K" }, "b": { "provider": "ollama" }, "c": { "provider": "openai-compatible", "endpoint": "not a url" } } }
            """));

        Assert.Contains("model 'a': provider azure-openai needs 'endpoint' and 'deployment'", error.Message);
        Assert.Contains("model 'b': unknown provider 'ollama'. Known providers: local, openai, azure-openai, openai-compatible", error.Message);
        Assert.Contains("model 'c': provider openai-compatible needs 'endpoint', an absolute URL", error.Message);
    }

    [Fact]
    public async Task The_embed_worker_returns_a_unit_vector_from_the_local_model()
    {
        var catalog = Register("""{ "model_cache": "CACHE" }""".Replace("CACHE", Path.GetDirectoryName(fixture.Files.ModelPath)!, StringComparison.Ordinal));
        catalog.TryGetWorker("embed", out var embed);

        var result = await embed!.ExecuteAsync(Request("""{ "text": "a small cat" }"""), default);

        var vector = result.Json!.Value.EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(288, vector.Length);
        Assert.Equal(1.0, Math.Sqrt(vector.Sum(v => v * v)), 3);
    }

    [Fact]
    public async Task Context_limits_count_the_local_models_own_tokens_and_summarize_through_it()
    {
        var cache = Path.GetDirectoryName(fixture.Files.ModelPath)!;
        // The built-in workers beside the plugin's, as a run has them.
        var catalog = Engine.BuiltInWorkers.CreateCatalog();
        PluginHost.Register(catalog, new SemanticKernelPlugin(), JsonDocument.Parse("""{ "model_cache": "CACHE" }""".Replace("CACHE", cache, StringComparison.Ordinal)).RootElement);
        var count = catalog.TokenCounter;
        var story = string.Join('\n', Enumerable.Range(1, 120).Select(i => $"Day {i}: Lily went to the park with her dog Max, and they played with a big red ball until the sun went down."));

        // The tokenizer's own count (the model read "Once upon a time" as 5 tokens with its beginning-of-text token).
        Assert.Equal(4, count("Once upon a time"));
        Assert.InRange(count(story), 2500, 4500);
        foreach (var settings in new[]
        {
            new Engine.Plans.ContextSettings(300),
            new Engine.Plans.ContextSettings(300, Engine.Plans.ContextSettings.HeadTail),
            new Engine.Plans.ContextSettings(300, Engine.Plans.ContextSettings.Extract) { Pattern = @"Day (\d+): Lily" },
        })
        {
            var cut = Engine.Execution.ContextCompressor.Compress(story, settings, count);
            // Counted in pieces, so within a token or two of the limit.
            Assert.True(count(cut) <= 302, $"{settings.Strategy}: {count(cut)} tokens");
        }

        // Summarize: the local model writes the summary a dependent receives, within the limit it was given. (A short
        // text: stories15M reads 256 tokens at most, and a long prompt only costs this test time.)
        var days = string.Join('\n', story.Split('\n')[..6]);
        var engine = new Engine.ParallelFlowEngine(new Engine.EngineOptions { Catalog = catalog });
        var plan = new Engine.Plans.PlanBuilder("summarized")
            .AddTask("story", "simulate", t => t.With(new { output = days }))
            .AddTask("read", "template", t => t.DependsOn("story").With(new { text = "{{story}}" })
                .Context(new Engine.Plans.ContextSettings(40, Engine.Plans.ContextSettings.Summarize) { Model = "stories15m-q8" }))
            .Build();

        var result = await engine.RunAsync(plan);

        var read = result["read"];
        Assert.Equal(Engine.Execution.TaskRunStatus.Succeeded, read.Status);
        Assert.Equal(count(days), read.Context!.TokensBefore);
        Assert.InRange(read.Context.TokensAfter, 1, 41);
        Assert.InRange(read.Context.SummaryUsage.OutputTokens, 1, 40);
        Assert.False(string.IsNullOrWhiteSpace(read.Result!.Text));
        Assert.Equal(read.Context.TokensAfter, count(read.Result.Text));
    }

    private static WorkerCatalog Register(string settings)
    {
        var catalog = new WorkerCatalog();
        PluginHost.Register(catalog, new SemanticKernelPlugin(), JsonDocument.Parse(settings).RootElement);
        return catalog;
    }

    private static TaskRequest Request(string with, params (string Id, string Output)[] dependencies) => new()
    {
        TaskId = "t",
        WorkerName = "llm",
        With = JsonDocument.Parse(with).RootElement,
        DependencyOutputs = dependencies.ToDictionary(d => d.Id, d => TaskResult.FromText(d.Output)),
    };
}
