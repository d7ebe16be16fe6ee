using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using OpenAI.Chat;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.SemanticKernel;

/// <summary>
/// The <c>llm</c> worker: sends a prompt to a named model through Semantic Kernel and returns the reply with its
/// token usage. <c>{{task}}</c> in the prompt is replaced by that dependency's output, <c>{{description}}</c> by the
/// task's description; without a prompt the description is sent.
/// </summary>
internal sealed partial class LlmWorker(ModelRegistry registry) : ParallelFlowWorker<LlmWorker.Parameters>
{
    /// <summary>A call's parameters, bound once per task: the same reading checks a plan and runs it.</summary>
    internal sealed record Parameters(string Model, string? Prompt, string? System, double Temperature, int MaxTokens, double? TopP, int? Seed);

    protected override Parameters Bind(ParameterReader reader)
    {
        var model = reader.Text("model");
        if (model is not null && !registry.Models.ContainsKey(model))
        {
            reader.Problem("model", $"unknown model '{model}'. The models are {string.Join(", ", registry.Models.Keys)}");
        }

        var topP = reader.Number("top_p", max: 1);
        if (topP is <= 0)
        {
            reader.Problem("top_p", "top_p must be a number above 0, at most 1");
        }

        return new Parameters(
            model ?? registry.DefaultModel,
            reader.Text("prompt"),
            reader.Text("system"),
            reader.Number("temperature", min: 0, max: 2) ?? 0,
            reader.WholeNumber("max_tokens", min: 1) ?? 128,
            topP,
            reader.WholeNumber("seed", min: 0));
    }

    /// <summary>A model call costs money and time: the same prompt and settings are served from the cache when a run has one.</summary>
    public override bool IsDeterministic => true;

    /// <summary>Traced as a GenAI chat call.</summary>
    public override string? ModelOperation => "chat";

    /// <summary>Before a call: the prompt's length in tokens (counted high, three characters each) plus the most it may generate.</summary>
    public override TaskEstimate? Estimate(JsonElement parameters)
    {
        if (parameters.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var prompt = parameters.TryGetProperty("prompt", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()!.Length : 0;
        var max = parameters.TryGetProperty("max_tokens", out var m) && m.TryGetInt32(out var value) ? value : 128;
        return new TaskEstimate(Tokens: (prompt / 3) + 2 + max);
    }

    /// <summary>How often a model call that is answering says how far it got.</summary>
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(1);

    /// <summary>The tokens of the answer, as they come, are progress: a model silent for <c>timeouts.worker_heartbeat</c>
    /// is stuck.</summary>
    public override bool ReportsProgress => true;

    protected override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, Parameters parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(parameters);
        var modelName = parameters.Model;
        var prompt = Render(parameters.Prompt ?? request.Description, request);
        if (string.IsNullOrWhiteSpace(prompt))
        {
            throw new FatalTaskException("the llm worker needs a 'prompt' or a task description");
        }

        var history = new ChatHistory();
        if (parameters.System is { } system)
        {
            history.AddSystemMessage(system);
        }

        history.AddUserMessage(prompt);
        var settings = new OpenAIPromptExecutionSettings
        {
            Temperature = parameters.Temperature,
            MaxTokens = parameters.MaxTokens,
            TopP = parameters.TopP,
            Seed = parameters.Seed,
        };
        var service = registry.Chat(modelName);
        try
        {
            // A local model fetched on first use says so on the task's progress, rather than seem to hang.
            using var fetching = ParallelFlow.LocalModel.ModelStore.ReportFetchTo(request.Progress);
            // Streamed, so that the tokens as they come are the task's progress (a plan's worker_heartbeat sees a model
            // that has stopped answering); the usage comes with the last chunk.
            var text = new System.Text.StringBuilder();
            var tokens = 0;
            var lastReport = System.Diagnostics.Stopwatch.GetTimestamp();
            IReadOnlyDictionary<string, object?>? metadata = null;
            await foreach (var chunk in service.GetStreamingChatMessageContentsAsync(history, settings, kernel: null, cancellationToken).ConfigureAwait(false))
            {
                text.Append(chunk.Content);
                if (!string.IsNullOrEmpty(chunk.Content))
                {
                    tokens++;
                }

                if (chunk.Metadata is { Count: > 0 } meta && (meta.ContainsKey("Usage") || meta.ContainsKey("OutputTokens")))
                {
                    metadata = meta;
                }

                if (System.Diagnostics.Stopwatch.GetElapsedTime(lastReport) >= ProgressInterval)
                {
                    request.Progress.Report(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{modelName}: {tokens} tokens so far"));
                    lastReport = System.Diagnostics.Stopwatch.GetTimestamp();
                }
            }

            return new TaskResult { Text = text.ToString(), Usage = Usage(metadata), Model = registry.Models[modelName].ModelId ?? modelName };
        }
        catch (HttpOperationException ex) when (ex.StatusCode is HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError or HttpStatusCode.RequestTimeout)
        {
            throw new TransientTaskException($"model '{modelName}' answered {(int)ex.StatusCode!}: {ex.Message}", ex);
        }
        catch (HttpOperationException ex)
        {
            throw new FatalTaskException($"model '{modelName}' refused the request{(ex.StatusCode is { } code ? $" ({(int)code})" : string.Empty)}: {ex.Message}", ex);
        }
    }

    internal static TaskUsage Usage(IReadOnlyDictionary<string, object?>? metadata)
    {
        if (metadata is null)
        {
            return TaskUsage.None;
        }

        if (metadata.TryGetValue("Usage", out var usage) && usage is ChatTokenUsage openAI)
        {
            return new TaskUsage(openAI.InputTokenCount, openAI.OutputTokenCount, 0);
        }

        return metadata.TryGetValue("InputTokens", out var input) && metadata.TryGetValue("OutputTokens", out var output)
            ? new TaskUsage(Convert.ToInt64(input, System.Globalization.CultureInfo.InvariantCulture), Convert.ToInt64(output, System.Globalization.CultureInfo.InvariantCulture), 0)
            : TaskUsage.None;
    }

    private static string Render(string template, TaskRequest request) =>
        Placeholder().Replace(template, match =>
        {
            var name = match.Groups[1].Value;
            if (name == "description")
            {
                return request.Description;
            }

            return request.DependencyOutputs.TryGetValue(name, out var output)
                ? output.ToString()
                : throw new FatalTaskException($"the prompt uses {{{{{name}}}}}, but '{name}' is not one of the task's dependencies ({string.Join(", ", request.DependencyOutputs.Keys)})");
        });

    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9][A-Za-z0-9_.:\-]*)\s*\}\}")]
    private static partial Regex Placeholder();
}
