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
internal sealed partial class LlmWorker(ModelRegistry registry) : ParallelFlowWorker
{
    private static readonly string[] Keys = ["model", "prompt", "system", "temperature", "max_tokens", "top_p", "seed"];

    public override IReadOnlyList<ParameterProblem> ValidateParameters(JsonElement parameters)
    {
        var problems = new List<ParameterProblem>();
        if (parameters.ValueKind != JsonValueKind.Object)
        {
            return problems;
        }

        foreach (var property in parameters.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "model" when value.ValueKind != JsonValueKind.String:
                    problems.Add(new ParameterProblem("model", "'model' must be the name of a model from the plugin's settings"));
                    break;
                case "model" when !registry.Models.ContainsKey(value.GetString()!):
                    problems.Add(new ParameterProblem("model", $"unknown model '{value.GetString()}'. The models are {string.Join(", ", registry.Models.Keys)}"));
                    break;
                case "prompt" or "system" when value.ValueKind != JsonValueKind.String:
                    problems.Add(new ParameterProblem(property.Name, $"'{property.Name}' must be a string"));
                    break;
                case "temperature" when value.ValueKind != JsonValueKind.Number || value.GetDouble() is < 0 or > 2:
                    problems.Add(new ParameterProblem("temperature", "'temperature' must be a number from 0 to 2"));
                    break;
                case "top_p" when value.ValueKind != JsonValueKind.Number || value.GetDouble() is <= 0 or > 1:
                    problems.Add(new ParameterProblem("top_p", "'top_p' must be a number above 0, at most 1"));
                    break;
                case "max_tokens" or "seed" when !value.TryGetInt32(out var number) || number < (property.Name == "seed" ? 0 : 1):
                    problems.Add(new ParameterProblem(property.Name, $"'{property.Name}' must be a whole number{(property.Name == "seed" ? string.Empty : " of at least 1")}"));
                    break;
                case var name when Array.IndexOf(Keys, name) < 0:
                    problems.Add(new ParameterProblem(name, $"unknown parameter '{name}'. Known parameters: {string.Join(", ", Keys)}"));
                    break;
            }
        }

        return problems;
    }

    /// <summary>A model call costs money and time: the same prompt and settings are served from the cache when a run has one.</summary>
    public override bool IsDeterministic => true;

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

    public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var modelName = request.GetString("model") ?? registry.DefaultModel;
        var prompt = Render(request.GetString("prompt") ?? request.Description, request);
        if (string.IsNullOrWhiteSpace(prompt))
        {
            throw new FatalTaskException("the llm worker needs a 'prompt' or a task description");
        }

        var history = new ChatHistory();
        if (request.GetString("system") is { } system)
        {
            history.AddSystemMessage(system);
        }

        history.AddUserMessage(prompt);
        var settings = new OpenAIPromptExecutionSettings
        {
            Temperature = request.GetDouble("temperature") ?? 0,
            MaxTokens = (int?)request.GetDouble("max_tokens") ?? 128,
            TopP = request.GetDouble("top_p"),
            Seed = (long?)request.GetDouble("seed"),
        };
        var service = registry.Chat(modelName);
        try
        {
            var reply = await service.GetChatMessageContentAsync(history, settings, kernel: null, cancellationToken).ConfigureAwait(false);
            return new TaskResult { Text = reply.Content ?? string.Empty, Usage = Usage(reply.Metadata) };
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
