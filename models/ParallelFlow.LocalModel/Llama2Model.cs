using System.Runtime.InteropServices;

namespace ParallelFlow.LocalModel;

/// <summary>
/// A llama2 transformer loaded from a llama2.c model file, with its tokenizer. Immutable once loaded and safe to
/// share: every generation works on its own <see cref="Llama2Session"/>.
/// </summary>
public sealed class Llama2Model
{
    private Llama2Model(Llama2Config config, Precision precision, float[] embedding, LayerWeights[] layers, float[] finalNorm, WeightMatrix classifier, Llama2Tokenizer tokenizer)
    {
        Config = config;
        Precision = precision;
        Embedding = embedding;
        Layers = layers;
        FinalNorm = finalNorm;
        Classifier = classifier;
        Tokenizer = tokenizer;
    }

    /// <summary>The model's shape.</summary>
    public Llama2Config Config { get; }

    /// <summary>The precision the matrices were loaded at.</summary>
    public Precision Precision { get; }

    /// <summary>The tokenizer that goes with the model.</summary>
    public Llama2Tokenizer Tokenizer { get; }

    /// <summary>Bytes the weight matrices take in memory (the embedding table is always f32).</summary>
    public long WeightBytes => Layers.Sum(l => l.Bytes) + Classifier.Bytes + ((long)Embedding.Length * sizeof(float));

    internal float[] Embedding { get; }

    internal LayerWeights[] Layers { get; }

    internal float[] FinalNorm { get; }

    internal WeightMatrix Classifier { get; }

    /// <summary>Loads a model file and a tokenizer file, quantising the matrices to <paramref name="precision"/>.</summary>
    /// <exception cref="InvalidDataException">A file is not what it should be; the message names it.</exception>
    public static Llama2Model Load(string modelPath, string tokenizerPath, Precision precision = Precision.F32)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        var bytes = File.ReadAllBytes(modelPath);
        Llama2Config config;
        try
        {
            config = Llama2Config.Read(bytes);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{modelPath}: {ex.Message}", ex);
        }

        var expected = Llama2Config.HeaderBytes + (config.WeightCount * sizeof(float));
        if (bytes.LongLength != expected)
        {
            throw new InvalidDataException($"{modelPath}: a model of this shape takes {expected:N0} bytes, the file has {bytes.LongLength:N0}");
        }

        var tokenizer = Llama2Tokenizer.Load(tokenizerPath, config.VocabSize);
        var floats = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(Llama2Config.HeaderBytes));
        var reader = new WeightReader(floats.ToArray());
        int dim = config.Dim, hidden = config.HiddenDim, kv = config.KvDim, n = config.Layers;

        var embedding = reader.Take((long)config.VocabSize * dim);
        var attentionNorm = reader.Take((long)n * dim);
        var wq = reader.Take((long)n * dim * dim);
        var wk = reader.Take((long)n * kv * dim);
        var wv = reader.Take((long)n * kv * dim);
        var wo = reader.Take((long)n * dim * dim);
        var ffnNorm = reader.Take((long)n * dim);
        var w1 = reader.Take((long)n * hidden * dim);
        var w2 = reader.Take((long)n * dim * hidden);
        var w3 = reader.Take((long)n * hidden * dim);
        var finalNorm = reader.Take(dim);
        reader.Skip((long)config.SeqLen * config.HeadSize); // legacy RoPE tables: the frequencies are computed instead
        var classifier = config.SharedClassifier ? embedding : reader.Take((long)config.VocabSize * dim);

        var layers = new LayerWeights[n];
        for (var l = 0; l < n; l++)
        {
            layers[l] = new LayerWeights(
                Slice(attentionNorm, l, dim),
                WeightMatrix.Create(Slice(wq, l, dim * dim), dim, dim, precision),
                WeightMatrix.Create(Slice(wk, l, kv * dim), kv, dim, precision),
                WeightMatrix.Create(Slice(wv, l, kv * dim), kv, dim, precision),
                WeightMatrix.Create(Slice(wo, l, dim * dim), dim, dim, precision),
                Slice(ffnNorm, l, dim),
                WeightMatrix.Create(Slice(w1, l, hidden * dim), hidden, dim, precision),
                WeightMatrix.Create(Slice(w2, l, dim * hidden), dim, hidden, precision),
                WeightMatrix.Create(Slice(w3, l, hidden * dim), hidden, dim, precision));
        }

        var output = WeightMatrix.Create(classifier, config.VocabSize, dim, precision);
        return new Llama2Model(config, precision, embedding, layers, finalNorm, output, tokenizer);

        static float[] Slice(float[] all, int layer, int size) => all.AsSpan(layer * size, size).ToArray();
    }

    /// <summary>Starts a generation with its own KV cache.</summary>
    public Llama2Session CreateSession() => new(this);

    internal sealed record LayerWeights(
        float[] AttentionNorm,
        WeightMatrix Wq,
        WeightMatrix Wk,
        WeightMatrix Wv,
        WeightMatrix Wo,
        float[] FfnNorm,
        WeightMatrix W1,
        WeightMatrix W2,
        WeightMatrix W3)
    {
        public long Bytes => Wq.Bytes + Wk.Bytes + Wv.Bytes + Wo.Bytes + W1.Bytes + W2.Bytes + W3.Bytes + ((AttentionNorm.Length + FfnNorm.Length) * sizeof(float));
    }

    private sealed class WeightReader(float[] all)
    {
        private long _offset;

        public float[] Take(long count)
        {
            var part = all.AsSpan((int)_offset, (int)count).ToArray();
            _offset += count;
            return part;
        }

        public void Skip(long count) => _offset += count;
    }
}
