using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using ParallelFlow.LocalModel;

namespace ParallelFlow.Plugins.SemanticKernel;

/// <summary>
/// The offline llama2 model as a Semantic Kernel chat completion service. The model completes text: the messages'
/// contents, joined by new lines, are the prompt, and the reply is its continuation. Temperature, max tokens, top-p and
/// seed come from <see cref="OpenAIPromptExecutionSettings"/> or the settings' extension data; the default is greedy.
/// </summary>
public sealed class LocalChatCompletionService : IChatCompletionService
{
    private readonly Func<CancellationToken, Task<Llama2Model>> _model;

    /// <summary>A service over a model that is loaded (and fetched, the first time) on first use.</summary>
    /// <param name="modelId">The name replies carry as their model id.</param>
    /// <param name="model">Returns the loaded model.</param>
    public LocalChatCompletionService(string modelId, Func<CancellationToken, Task<Llama2Model>> model)
    {
        ModelId = modelId;
        _model = model;
        Attributes = new Dictionary<string, object?> { [Microsoft.SemanticKernel.Services.AIServiceExtensions.ModelIdKey] = modelId };
    }

    /// <summary>The model's name.</summary>
    public string ModelId { get; }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, object?> Attributes { get; }

    /// <summary>Reads generation options from Semantic Kernel execution settings.</summary>
    public static GenerationOptions Options(PromptExecutionSettings? settings)
    {
        var options = new GenerationOptions { TruncatePrompt = true };
        if (settings is OpenAIPromptExecutionSettings openAI)
        {
            return options with
            {
                Temperature = (float)(openAI.Temperature ?? 0),
                MaxTokens = openAI.MaxTokens ?? options.MaxTokens,
                TopP = (float)(openAI.TopP ?? options.TopP),
                Seed = openAI.Seed is { } seed ? (ulong)seed : options.Seed,
            };
        }

        if (settings?.ExtensionData is { } data)
        {
            double? Number(string key) => data.TryGetValue(key, out var value) ? value switch
            {
                JsonElement { ValueKind: JsonValueKind.Number } json => json.GetDouble(),
                IConvertible convertible => convertible.ToDouble(System.Globalization.CultureInfo.InvariantCulture),
                _ => null,
            } : null;
            return options with
            {
                Temperature = (float)(Number("temperature") ?? 0),
                MaxTokens = (int)(Number("max_tokens") ?? options.MaxTokens),
                TopP = (float)(Number("top_p") ?? options.TopP),
                Seed = Number("seed") is { } seed ? (ulong)seed : options.Seed,
            };
        }

        return options;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<ChatMessageContent>> GetChatMessageContentsAsync(ChatHistory chatHistory, PromptExecutionSettings? executionSettings = null, Kernel? kernel = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chatHistory);
        var model = await _model(cancellationToken).ConfigureAwait(false);
        var prompt = Prompt(chatHistory);
        var options = Options(executionSettings);
        var result = await Task.Run(() => Llama2Generator.Generate(model, prompt, options, cancellationToken), cancellationToken).ConfigureAwait(false);
        var metadata = new Dictionary<string, object?>
        {
            ["InputTokens"] = result.PromptTokens,
            ["OutputTokens"] = result.CompletionTokens,
            ["FinishReason"] = result.FinishReason,
        };
        return [new ChatMessageContent(AuthorRole.Assistant, result.Text, ModelId, metadata: metadata)];
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<StreamingChatMessageContent> GetStreamingChatMessageContentsAsync(ChatHistory chatHistory, PromptExecutionSettings? executionSettings = null, Kernel? kernel = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chatHistory);
        var model = await _model(cancellationToken).ConfigureAwait(false);
        var prompt = Prompt(chatHistory);
        var options = Options(executionSettings);
        var channel = System.Threading.Channels.Channel.CreateUnbounded<string>();
        var state = new GenerationState();
        var producer = Task.Run(
            () =>
            {
                try
                {
                    foreach (var piece in Llama2Generator.Stream(model, prompt, options, state, cancellationToken))
                    {
                        channel.Writer.TryWrite(piece);
                    }

                    channel.Writer.TryComplete();
                }
#pragma warning disable CA1031 // Handed to the reader, which rethrows it.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    channel.Writer.TryComplete(ex);
                }
            },
            cancellationToken);
        await foreach (var piece in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new StreamingChatMessageContent(AuthorRole.Assistant, piece, modelId: ModelId);
        }

        await producer.ConfigureAwait(false);

        // A last, empty chunk with the usage, as OpenAI's streams end (stream_options.include_usage).
        yield return new StreamingChatMessageContent(AuthorRole.Assistant, string.Empty, modelId: ModelId, metadata: new Dictionary<string, object?>
        {
            ["InputTokens"] = state.PromptTokens,
            ["OutputTokens"] = state.CompletionTokens,
            ["FinishReason"] = state.FinishReason,
        });
    }

    private static string Prompt(ChatHistory history) =>
        string.Join("\n", history.Where(m => !string.IsNullOrEmpty(m.Content)).Select(m => m.Content));
}
