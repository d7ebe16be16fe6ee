using System.Text;

namespace ParallelFlow.LocalModel;

/// <summary>How to pick tokens.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens to generate after the prompt; the model's sequence length is a hard limit too.</summary>
    public int MaxTokens { get; init; } = 128;

    /// <summary>0 picks the most likely token every time (deterministic); higher values flatten the distribution.</summary>
    public float Temperature { get; init; }

    /// <summary>Nucleus sampling: only the most likely tokens whose probabilities add up to this are drawn from. 1 turns it off.</summary>
    public float TopP { get; init; } = 0.9f;

    /// <summary>Seed of the sampler's random numbers; the same seed, prompt and options give the same text.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>
    /// When the prompt and <see cref="MaxTokens"/> do not fit the model's sequence length, keep the end of the prompt
    /// (after BOS) instead of failing.
    /// </summary>
    public bool TruncatePrompt { get; init; }
}

/// <summary>A finished generation.</summary>
/// <param name="Text">The generated continuation, without the prompt.</param>
/// <param name="PromptTokens">Tokens in the prompt, BOS included.</param>
/// <param name="CompletionTokens">Tokens generated.</param>
/// <param name="FinishReason"><c>stop</c> when the model ended the text, <c>length</c> when a limit did.</param>
public sealed record GenerationResult(string Text, int PromptTokens, int CompletionTokens, string FinishReason);

/// <summary>Runs prompts through a <see cref="Llama2Model"/>.</summary>
public static class Llama2Generator
{
    /// <summary>Generates a continuation of <paramref name="prompt"/>.</summary>
    public static GenerationResult Generate(Llama2Model model, string prompt, GenerationOptions options, CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        var state = new GenerationState();
        foreach (var piece in Stream(model, prompt, options, state, cancellationToken))
        {
            text.Append(piece);
        }

        return new GenerationResult(text.ToString(), state.PromptTokens, state.CompletionTokens, state.FinishReason);
    }

    /// <summary>
    /// A text embedding: the model's final normalised hidden state averaged over the text's tokens (at most the
    /// model's sequence length), scaled to unit length.
    /// </summary>
    public static float[] Embed(Llama2Model model, string text)
    {
        ArgumentNullException.ThrowIfNull(model);
        var tokens = model.Tokenizer.Encode(text ?? string.Empty).Take(model.Config.SeqLen).ToList();
        var session = model.CreateSession();
        var sum = new float[model.Config.Dim];
        for (var position = 0; position < tokens.Count; position++)
        {
            session.Forward(tokens[position], position);
            var hidden = session.Hidden;
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += hidden[i];
            }
        }

        var norm = MathF.Sqrt(WeightMatrix.Dot(sum, sum));
        for (var i = 0; i < sum.Length && norm > 0; i++)
        {
            sum[i] /= norm;
        }

        return sum;
    }

    /// <summary>Generates a continuation piece by piece, as the tokens come.</summary>
    public static IEnumerable<string> Stream(Llama2Model model, string prompt, GenerationOptions options, CancellationToken cancellationToken = default) =>
        Stream(model, prompt, options, new GenerationState(), cancellationToken);

    /// <summary>Generates a continuation piece by piece, reporting counts through <paramref name="state"/>.</summary>
    public static IEnumerable<string> Stream(Llama2Model model, string prompt, GenerationOptions options, GenerationState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(state);
        var tokens = model.Tokenizer.Encode(prompt ?? string.Empty);
        var room = model.Config.SeqLen - Math.Clamp(options.MaxTokens, 1, model.Config.SeqLen - 2);
        if (options.TruncatePrompt && tokens.Count > room)
        {
            tokens = [Llama2Tokenizer.Bos, .. tokens.Skip(tokens.Count - room + 1)];
        }

        if (tokens.Count >= model.Config.SeqLen)
        {
            throw new ArgumentException($"the prompt takes {tokens.Count} tokens; the model reads at most {model.Config.SeqLen - 1}", nameof(prompt));
        }

        state.PromptTokens = tokens.Count;
        state.FinishReason = "length";
        var session = model.CreateSession();
        var sampler = new Sampler(model.Config.VocabSize, options.Temperature, options.TopP, options.Seed);
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = new char[64];
        var limit = Math.Min(model.Config.SeqLen, tokens.Count + Math.Max(0, options.MaxTokens));
        var token = tokens[0];
        for (var position = 0; position < limit - 1; position++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var logits = session.Forward(token, position);
            int next;
            if (position < tokens.Count - 1)
            {
                next = tokens[position + 1];
            }
            else
            {
                next = sampler.Sample(logits);
                if (next is Llama2Tokenizer.Bos or Llama2Tokenizer.Eos)
                {
                    state.FinishReason = "stop";
                    yield break;
                }

                state.CompletionTokens++;
                var bytes = model.Tokenizer.DecodeBytes(token, next);
                var count = decoder.GetChars(bytes, 0, bytes.Length, chars, 0, flush: false);
                if (count > 0)
                {
                    yield return new string(chars, 0, count);
                }
            }

            token = next;
        }
    }
}

/// <summary>Counts of a streamed generation, filled in as it runs.</summary>
public sealed class GenerationState
{
    /// <summary>Tokens in the prompt, BOS included.</summary>
    public int PromptTokens { get; internal set; }

    /// <summary>Tokens generated so far.</summary>
    public int CompletionTokens { get; internal set; }

    /// <summary><c>stop</c> or <c>length</c> once finished.</summary>
    public string FinishReason { get; internal set; } = "length";
}

/// <summary>Greedy or temperature + nucleus sampling with a seeded xorshift generator.</summary>
internal sealed class Sampler(int vocabSize, float temperature, float topP, ulong seed)
{
    private readonly float[] _probabilities = new float[vocabSize];
    private readonly (float P, int Index)[] _candidates = new (float, int)[vocabSize];
    private ulong _state = seed == 0 ? 0x9E3779B97F4A7C15UL : seed;

    public int Sample(ReadOnlySpan<float> logits)
    {
        if (temperature <= 0)
        {
            return ArgMax(logits);
        }

        for (var i = 0; i < logits.Length; i++)
        {
            _probabilities[i] = logits[i] / temperature;
        }

        Llama2Session.Softmax(_probabilities);
        var coin = NextFloat();
        return topP is <= 0 or >= 1 ? SampleAll(coin) : SampleTopP(coin);
    }

    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    private int SampleAll(float coin)
    {
        var cumulative = 0f;
        for (var i = 0; i < _probabilities.Length; i++)
        {
            cumulative += _probabilities[i];
            if (coin < cumulative)
            {
                return i;
            }
        }

        return _probabilities.Length - 1;
    }

    private int SampleTopP(float coin)
    {
        // Tokens below this cannot be in the nucleus; leaving them out keeps the sort short.
        var cutoff = (1.0f - topP) / (_probabilities.Length - 1);
        var n = 0;
        for (var i = 0; i < _probabilities.Length; i++)
        {
            if (_probabilities[i] >= cutoff)
            {
                _candidates[n++] = (_probabilities[i], i);
            }
        }

        var span = _candidates.AsSpan(0, n);
        span.Sort(static (a, b) => b.P.CompareTo(a.P));
        var cumulative = 0f;
        var last = n - 1;
        for (var i = 0; i < n; i++)
        {
            cumulative += span[i].P;
            if (cumulative > topP)
            {
                last = i;
                break;
            }
        }

        var r = coin * cumulative;
        var running = 0f;
        for (var i = 0; i <= last; i++)
        {
            running += span[i].P;
            if (r < running)
            {
                return span[i].Index;
            }
        }

        return span[last].Index;
    }

    private float NextFloat()
    {
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        var bits = (uint)((_state * 0x2545F4914F6CDD1DUL) >> 32);
        return (bits >> 8) / 16777216.0f;
    }
}
