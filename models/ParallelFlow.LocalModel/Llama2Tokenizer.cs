using System.Text;

namespace ParallelFlow.LocalModel;

/// <summary>
/// The sentencepiece-style BPE tokenizer of llama2: text is split into code points, code points missing from the
/// vocabulary fall back to byte tokens (ids 3..258 are the bytes 0x00..0xFF), then the adjacent pair with the best
/// merge score is merged until no pair is in the vocabulary.
/// </summary>
public sealed class Llama2Tokenizer
{
    /// <summary>Beginning of sequence.</summary>
    public const int Bos = 1;

    /// <summary>End of sequence.</summary>
    public const int Eos = 2;

    private const int ByteTokenOffset = 3;
    private readonly string[] _pieces;
    private readonly float[] _scores;
    private readonly Dictionary<string, int> _ids;

    private Llama2Tokenizer(string[] pieces, float[] scores)
    {
        _pieces = pieces;
        _scores = scores;
        _ids = new Dictionary<string, int>(pieces.Length, StringComparer.Ordinal);
        for (var i = 0; i < pieces.Length; i++)
        {
            // Byte tokens are looked up by id, never by text: " " is the byte 0x20 and the word-start piece.
            if (!IsByteToken(i))
            {
                _ids.TryAdd(pieces[i], i);
            }
        }
    }

    /// <summary>Number of tokens.</summary>
    public int VocabSize => _pieces.Length;

    /// <summary>Reads a llama2.c tokenizer file: the longest piece length, then each piece's score, length and bytes.</summary>
    /// <exception cref="InvalidDataException">The file ends early or holds a negative length; the message names it.</exception>
    public static Llama2Tokenizer Load(string path, int vocabSize)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        var pieces = new string[vocabSize];
        var scores = new float[vocabSize];
        try
        {
            _ = reader.ReadInt32();
            for (var i = 0; i < vocabSize; i++)
            {
                scores[i] = reader.ReadSingle();
                var length = reader.ReadInt32();
                if (length is < 0 or > 1024)
                {
                    throw new InvalidDataException($"{path}: token {i} has length {length}");
                }

                pieces[i] = Encoding.UTF8.GetString(reader.ReadBytes(length));
            }
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException($"{path}: the tokenizer ends before its {vocabSize} tokens", ex);
        }

        return new Llama2Tokenizer(pieces, scores);
    }

    /// <summary>The text of a token as stored in the vocabulary.</summary>
    public string Piece(int token) => _pieces[token];

    /// <summary>Encodes text the way llama2.c does: an optional BOS, a leading space, code points, byte fallback, then BPE merges.</summary>
    public IReadOnlyList<int> Encode(string text, bool bos = true, bool eos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<int>(text.Length + 3);
        if (bos)
        {
            tokens.Add(Bos);
        }

        var start = tokens.Count;
        if (text.Length > 0)
        {
            tokens.Add(_ids[" "]);
        }

        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in text.EnumerateRunes())
        {
            if (_ids.TryGetValue(rune.ToString(), out var id))
            {
                tokens.Add(id);
                continue;
            }

            var length = rune.EncodeToUtf8(utf8);
            for (var i = 0; i < length; i++)
            {
                tokens.Add(utf8[i] + ByteTokenOffset);
            }
        }

        while (true)
        {
            var bestScore = float.NegativeInfinity;
            var bestId = -1;
            var bestIndex = -1;
            for (var i = start; i < tokens.Count - 1; i++)
            {
                if (_ids.TryGetValue(_pieces[tokens[i]] + _pieces[tokens[i + 1]], out var id) && _scores[id] > bestScore)
                {
                    bestScore = _scores[id];
                    bestId = id;
                    bestIndex = i;
                }
            }

            if (bestIndex < 0)
            {
                break;
            }

            tokens[bestIndex] = bestId;
            tokens.RemoveAt(bestIndex + 1);
        }

        if (eos)
        {
            tokens.Add(Eos);
        }

        return tokens;
    }

    /// <summary>
    /// The bytes a token stands for after <paramref name="previous"/>: byte tokens (ids 3..258) give their byte, and the leading
    /// space of the first piece after BOS is dropped.
    /// </summary>
    public byte[] DecodeBytes(int previous, int token)
    {
        if (IsByteToken(token))
        {
            return [(byte)(token - ByteTokenOffset)];
        }

        var piece = _pieces[token];
        if (previous == Bos && piece.StartsWith(' '))
        {
            piece = piece[1..];
        }

        return Encoding.UTF8.GetBytes(piece);
    }

    private static bool IsByteToken(int token) => token is >= ByteTokenOffset and < ByteTokenOffset + 256;

    /// <summary>Decodes a whole token sequence to text.</summary>
    public string Decode(IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var bytes = new List<byte>();
        for (var i = 0; i < tokens.Count; i++)
        {
            if (tokens[i] is Bos or Eos)
            {
                continue;
            }

            bytes.AddRange(DecodeBytes(i == 0 ? Bos : tokens[i - 1], tokens[i]));
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }
}
