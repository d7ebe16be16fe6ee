namespace ParallelFlow.LocalModel;

/// <summary>
/// One sequence being generated: the KV cache and scratch buffers of a forward pass. Not thread-safe; a session
/// belongs to one generation at a time.
/// </summary>
public sealed class Llama2Session
{
    private const float NormEpsilon = 1e-5f;
    private readonly Llama2Model _model;
    private readonly float[] _x;
    private readonly float[] _xb;
    private readonly float[] _xb2;
    private readonly float[] _hb;
    private readonly float[] _hb2;
    private readonly float[] _q;
    private readonly float[] _att;
    private readonly float[] _logits;
    private readonly float[] _keyCache;
    private readonly float[] _valueCache;

    internal Llama2Session(Llama2Model model)
    {
        _model = model;
        var c = model.Config;
        _x = new float[c.Dim];
        _xb = new float[c.Dim];
        _xb2 = new float[c.Dim];
        _hb = new float[c.HiddenDim];
        _hb2 = new float[c.HiddenDim];
        _q = new float[c.Dim];
        _att = new float[c.SeqLen];
        _logits = new float[c.VocabSize];
        _keyCache = new float[c.Layers * c.SeqLen * c.KvDim];
        _valueCache = new float[c.Layers * c.SeqLen * c.KvDim];
    }

    /// <summary>
    /// Runs the model on <paramref name="token"/> at position <paramref name="position"/> and returns the logits of
    /// the next token. The returned span is overwritten by the next call.
    /// </summary>
    public ReadOnlySpan<float> Forward(int token, int position)
    {
        var c = _model.Config;
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, c.VocabSize);
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(position, c.SeqLen);

        int dim = c.Dim, kvDim = c.KvDim, headSize = c.HeadSize, kvMul = c.Heads / c.KvHeads;
        _model.Embedding.AsSpan(token * dim, dim).CopyTo(_x);

        for (var l = 0; l < c.Layers; l++)
        {
            var w = _model.Layers[l];
            RmsNorm(_xb, _x, w.AttentionNorm);

            var cacheOffset = (l * c.SeqLen * kvDim) + (position * kvDim);
            var k = _keyCache.AsSpan(cacheOffset, kvDim);
            var v = _valueCache.AsSpan(cacheOffset, kvDim);
            w.Wq.MatVec(_xb, _q);
            w.Wk.MatVec(_xb, k);
            w.Wv.MatVec(_xb, v);

            // RoPE: rotate each pair of a head by an angle that grows with the position.
            for (var i = 0; i < dim; i += 2)
            {
                var headDim = i % headSize;
                var frequency = 1.0f / MathF.Pow(10000.0f, headDim / (float)headSize);
                var angle = position * frequency;
                var (sin, cos) = MathF.SinCos(angle);
                Rotate(_q, i, cos, sin);
                if (i < kvDim)
                {
                    Rotate(k, i, cos, sin);
                }
            }

            // Multi-head attention over every position so far.
            var scale = 1.0f / MathF.Sqrt(headSize);
            var layerKeys = _keyCache.AsSpan(l * c.SeqLen * kvDim, c.SeqLen * kvDim);
            var layerValues = _valueCache.AsSpan(l * c.SeqLen * kvDim, c.SeqLen * kvDim);
            for (var h = 0; h < c.Heads; h++)
            {
                var q = _q.AsSpan(h * headSize, headSize);
                var att = _att.AsSpan(0, position + 1);
                var kvHead = (h / kvMul) * headSize;
                for (var t = 0; t <= position; t++)
                {
                    att[t] = WeightMatrix.Dot(q, layerKeys.Slice((t * kvDim) + kvHead, headSize)) * scale;
                }

                Softmax(att);
                var xb = _xb.AsSpan(h * headSize, headSize);
                xb.Clear();
                for (var t = 0; t <= position; t++)
                {
                    var value = layerValues.Slice((t * kvDim) + kvHead, headSize);
                    var a = att[t];
                    for (var i = 0; i < headSize; i++)
                    {
                        xb[i] += a * value[i];
                    }
                }
            }

            w.Wo.MatVec(_xb, _xb2);
            Add(_x, _xb2);

            // Feed-forward: w2(silu(w1 x) * w3 x).
            RmsNorm(_xb, _x, w.FfnNorm);
            w.W1.MatVec(_xb, _hb);
            w.W3.MatVec(_xb, _hb2);
            for (var i = 0; i < _hb.Length; i++)
            {
                var value = _hb[i];
                _hb[i] = value / (1.0f + MathF.Exp(-value)) * _hb2[i];
            }

            w.W2.MatVec(_hb, _xb);
            Add(_x, _xb);
        }

        RmsNorm(_x, _x, _model.FinalNorm);
        _model.Classifier.MatVec(_x, _logits);
        return _logits;
    }

    /// <summary>The final normalised hidden state of the last <see cref="Forward"/> call.</summary>
    internal ReadOnlySpan<float> Hidden => _x;

    internal static void Softmax(Span<float> x)
    {
        var max = float.NegativeInfinity;
        foreach (var value in x)
        {
            max = Math.Max(max, value);
        }

        var sum = 0f;
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = MathF.Exp(x[i] - max);
            sum += x[i];
        }

        for (var i = 0; i < x.Length; i++)
        {
            x[i] /= sum;
        }
    }

    private static void RmsNorm(Span<float> output, ReadOnlySpan<float> x, ReadOnlySpan<float> weight)
    {
        var ss = WeightMatrix.Dot(x, x);
        ss = 1.0f / MathF.Sqrt((ss / x.Length) + NormEpsilon);
        for (var i = 0; i < x.Length; i++)
        {
            output[i] = weight[i] * (ss * x[i]);
        }
    }

    private static void Rotate(Span<float> v, int i, float cos, float sin)
    {
        var v0 = v[i];
        var v1 = v[i + 1];
        v[i] = (v0 * cos) - (v1 * sin);
        v[i + 1] = (v0 * sin) + (v1 * cos);
    }

    private static void Add(Span<float> x, ReadOnlySpan<float> y)
    {
        for (var i = 0; i < x.Length; i++)
        {
            x[i] += y[i];
        }
    }
}
