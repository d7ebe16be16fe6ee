using ParallelFlow.LocalModel;

namespace ParallelFlow.Plugins.SemanticKernel;

/// <summary>
/// Counts tokens the way the local model reads them: its own tokenizer (stories15M's SentencePiece vocabulary), loaded
/// from the model cache on first use — fetched with the model when the cache does not hold it. Long texts are counted
/// in pieces of about 64 characters cut at whitespace (the tokenizer's merges are quadratic in the length of what it
/// encodes); a piece boundary can only split a merge across it, so the count is the tokenizer's within a token or so
/// per piece.
/// </summary>
public sealed class LocalTokenCounter(ModelStore store)
{
    private const int Piece = 64;

    private readonly Lazy<Llama2Tokenizer> _tokenizer = new(() =>
    {
        var files = store.EnsureStories15MAsync().GetAwaiter().GetResult();
        return Llama2Tokenizer.Load(files.TokenizerPath, VocabularySize);
    });

    /// <summary>stories15M's vocabulary.</summary>
    public const int VocabularySize = 32000;

    /// <summary>The tokens of a text, without the beginning-of-text token.</summary>
    /// <param name="text">The text.</param>
    /// <returns>Its token count.</returns>
    public int Count(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokenizer = _tokenizer.Value;
        var total = 0;
        var start = 0;
        while (start < text.Length)
        {
            var end = Math.Min(text.Length, start + Piece);
            if (end < text.Length)
            {
                // Cut at the last whitespace in the piece, when it has one.
                var space = text.LastIndexOfAny([' ', '\n', '\t'], end - 1, end - start);
                if (space > start)
                {
                    end = space;
                }
            }

            // Each call adds the leading space token of a text; only the first piece of the text has one.
            total += tokenizer.Encode(text[start..end], bos: false).Count - (start == 0 ? 0 : 1);
            start = end;
        }

        return total;
    }
}
