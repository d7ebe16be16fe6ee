namespace ParallelFlow.LocalModel;

/// <summary>The shape of a llama2 model, read from the seven-integer header of a llama2.c model file.</summary>
/// <param name="Dim">Width of the residual stream.</param>
/// <param name="HiddenDim">Width of the feed-forward layer.</param>
/// <param name="Layers">Number of transformer layers.</param>
/// <param name="Heads">Number of query heads.</param>
/// <param name="KvHeads">Number of key/value heads (fewer than <paramref name="Heads"/> for grouped-query attention).</param>
/// <param name="VocabSize">Number of tokens.</param>
/// <param name="SeqLen">Longest sequence the model was trained on; the KV cache holds this many positions.</param>
/// <param name="SharedClassifier">Whether the output classifier reuses the token embedding table.</param>
public sealed record Llama2Config(int Dim, int HiddenDim, int Layers, int Heads, int KvHeads, int VocabSize, int SeqLen, bool SharedClassifier)
{
    /// <summary>Bytes taken by the header.</summary>
    public const int HeaderBytes = 7 * sizeof(int);

    /// <summary>Width of one attention head.</summary>
    public int HeadSize => Dim / Heads;

    /// <summary>Width of the key and value vectors.</summary>
    public int KvDim => Dim * KvHeads / Heads;

    /// <summary>Number of float weights in the file after the header.</summary>
    public long WeightCount
    {
        get
        {
            long layers = Layers;
            var count = (long)VocabSize * Dim                       // token embedding
                + layers * Dim                                        // attention RMSNorm
                + layers * Dim * Dim                                  // wq
                + layers * Dim * KvDim * 2                            // wk, wv
                + layers * Dim * Dim                                  // wo
                + layers * Dim                                        // feed-forward RMSNorm
                + layers * HiddenDim * Dim * 3                        // w1, w2, w3
                + Dim                                                 // final RMSNorm
                + (long)SeqLen * HeadSize;                            // legacy RoPE tables (real and imaginary halves)
            return SharedClassifier ? count : count + (long)VocabSize * Dim;
        }
    }

    /// <summary>Reads and checks a header.</summary>
    /// <exception cref="InvalidDataException">The header does not describe a llama2 model.</exception>
    public static Llama2Config Read(ReadOnlySpan<byte> header)
    {
        if (header.Length < HeaderBytes)
        {
            throw new InvalidDataException($"a llama2 model file starts with a {HeaderBytes}-byte header; this one has {header.Length} bytes");
        }

        var v = new int[7];
        for (var i = 0; i < 7; i++)
        {
            v[i] = BitConverter.ToInt32(header.Slice(i * 4, 4));
        }

        var config = new Llama2Config(v[0], v[1], v[2], v[3], v[4], Math.Abs(v[5]), v[6], v[5] > 0);
        if (config.Dim <= 0 || config.HiddenDim <= 0 || config.Layers <= 0 || config.Heads <= 0 || config.KvHeads <= 0
            || config.VocabSize <= 0 || config.SeqLen <= 0 || config.Dim % config.Heads != 0 || config.Heads % config.KvHeads != 0
            || config.Dim > 1 << 16 || config.Layers > 1024 || config.SeqLen > 1 << 20)
        {
            throw new InvalidDataException($"the header does not describe a llama2 model: dim {v[0]}, hidden {v[1]}, layers {v[2]}, heads {v[3]}, kv heads {v[4]}, vocab {v[5]}, seq len {v[6]}");
        }

        return config;
    }
}
