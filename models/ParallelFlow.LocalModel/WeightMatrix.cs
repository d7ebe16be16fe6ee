using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ParallelFlow.LocalModel;

/// <summary>A row-major weight matrix that multiplies vectors, held at one <see cref="Precision"/>.</summary>
internal abstract class WeightMatrix
{
    /// <summary>Weights that share one scale when quantised.</summary>
    public const int GroupSize = 32;

    protected WeightMatrix(int rows, int cols)
    {
        Rows = rows;
        Cols = cols;
    }

    /// <summary>Whether the quantised kernels use 256-bit vectors; tests turn it off to check the scalar kernels.</summary>
    internal static bool UseVectors { get; set; } = Vector256.IsHardwareAccelerated;

    public int Rows { get; }

    public int Cols { get; }

    /// <summary>Bytes the weights take in memory.</summary>
    public abstract long Bytes { get; }

    /// <summary>y = W x, where x has <see cref="Cols"/> entries and y has <see cref="Rows"/>.</summary>
    public abstract void MatVec(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>Builds a matrix at the given precision from float weights. Matrices whose rows do not divide into groups stay at f32.</summary>
    public static WeightMatrix Create(float[] weights, int rows, int cols, Precision precision) =>
        precision switch
        {
            _ when cols % GroupSize != 0 => new F32Matrix(weights, rows, cols),
            Precision.Q8 => Q8Matrix.Quantize(weights, rows, cols),
            Precision.Q4 => Q4Matrix.Quantize(weights, rows, cols),
            _ => new F32Matrix(weights, rows, cols),
        };

    /// <summary>The 32 products of one group of quantised levels and its inputs, folded into 8 lanes.</summary>
    internal static Vector256<float> DotGroup(Vector256<sbyte> levels, ReadOnlySpan<float> x)
    {
        var (shortLow, shortHigh) = Vector256.Widen(levels);
        var (i0, i1) = Vector256.Widen(shortLow);
        var (i2, i3) = Vector256.Widen(shortHigh);
        var acc = Vector256.ConvertToSingle(i0) * Vector256.Create(x[..8]);
        acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i1), Vector256.Create(x.Slice(8, 8)), acc);
        acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i2), Vector256.Create(x.Slice(16, 8)), acc);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(i3), Vector256.Create(x.Slice(24, 8)), acc);
    }

    internal static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = 0f;
        var i = 0;
        if (Vector.IsHardwareAccelerated && a.Length >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            var va = MemoryMarshal.Cast<float, Vector<float>>(a);
            var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
            for (var v = 0; v < va.Length; v++)
            {
                acc += va[v] * vb[v];
            }

            sum = Vector.Sum(acc);
            i = va.Length * Vector<float>.Count;
        }

        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }
}

/// <summary>Weights as stored: 32-bit floats.</summary>
internal sealed class F32Matrix(float[] weights, int rows, int cols) : WeightMatrix(rows, cols)
{
    public override long Bytes => (long)weights.Length * sizeof(float);

    public override void MatVec(ReadOnlySpan<float> x, Span<float> y)
    {
        var w = weights.AsSpan();
        for (var r = 0; r < Rows; r++)
        {
            y[r] = Dot(w.Slice(r * Cols, Cols), x);
        }
    }
}

/// <summary>Symmetric 8-bit weights: q = round(w / s), s = max|w| / 127 per group.</summary>
internal sealed class Q8Matrix : WeightMatrix
{
    private readonly sbyte[] _q;
    private readonly float[] _scales;

    private Q8Matrix(sbyte[] q, float[] scales, int rows, int cols)
        : base(rows, cols)
    {
        _q = q;
        _scales = scales;
    }

    public override long Bytes => _q.LongLength + (_scales.LongLength * sizeof(float));

    public static Q8Matrix Quantize(float[] w, int rows, int cols)
    {
        var q = new sbyte[w.Length];
        var scales = new float[w.Length / GroupSize];
        for (var g = 0; g < scales.Length; g++)
        {
            var group = w.AsSpan(g * GroupSize, GroupSize);
            var max = 0f;
            foreach (var value in group)
            {
                max = Math.Max(max, Math.Abs(value));
            }

            var scale = max / 127f;
            scales[g] = scale;
            for (var i = 0; i < GroupSize; i++)
            {
                q[(g * GroupSize) + i] = scale == 0 ? (sbyte)0 : (sbyte)Math.Clamp(MathF.Round(group[i] / scale), -127, 127);
            }
        }

        return new Q8Matrix(q, scales, rows, cols);
    }

    public override void MatVec(ReadOnlySpan<float> x, Span<float> y)
    {
        var groupsPerRow = Cols / GroupSize;
        var simd = UseVectors;
        for (var r = 0; r < Rows; r++)
        {
            var rowStart = r * Cols;
            if (simd)
            {
                var row = Vector256<float>.Zero;
                for (var g = 0; g < groupsPerRow; g++)
                {
                    var offset = g * GroupSize;
                    var q = Vector256.Create<sbyte>(_q.AsSpan(rowStart + offset, GroupSize));
                    var group = DotGroup(q, x.Slice(offset, GroupSize));
                    row = Vector256.FusedMultiplyAdd(group, Vector256.Create(_scales[(rowStart + offset) / GroupSize]), row);
                }

                y[r] = Vector256.Sum(row);
                continue;
            }

            var sum = 0f;
            for (var g = 0; g < groupsPerRow; g++)
            {
                var offset = g * GroupSize;
                var q = _q.AsSpan(rowStart + offset, GroupSize);
                var xs = x.Slice(offset, GroupSize);
                var acc = 0f;
                for (var i = 0; i < GroupSize; i++)
                {
                    acc += q[i] * xs[i];
                }

                sum += acc * _scales[(rowStart + offset) / GroupSize];
            }

            y[r] = sum;
        }
    }
}

/// <summary>Symmetric 4-bit weights, two to a byte: q = round(w / s) in [-8, 7], s = max|w| / 7 per group.</summary>
internal sealed class Q4Matrix : WeightMatrix
{
    private readonly byte[] _packed;
    private readonly float[] _scales;

    private Q4Matrix(byte[] packed, float[] scales, int rows, int cols)
        : base(rows, cols)
    {
        _packed = packed;
        _scales = scales;
    }

    public override long Bytes => _packed.LongLength + (_scales.LongLength * sizeof(float));

    public static Q4Matrix Quantize(float[] w, int rows, int cols)
    {
        var packed = new byte[w.Length / 2];
        var scales = new float[w.Length / GroupSize];
        for (var g = 0; g < scales.Length; g++)
        {
            var group = w.AsSpan(g * GroupSize, GroupSize);
            var max = 0f;
            foreach (var value in group)
            {
                max = Math.Max(max, Math.Abs(value));
            }

            var scale = max / 7f;
            scales[g] = scale;
            // Byte j of a group holds weight j in its low nibble and weight j + 16 in its high nibble, so a group
            // unpacks into 32 values with two vector operations.
            for (var j = 0; j < GroupSize / 2; j++)
            {
                var lo = Level(group[j], scale);
                var hi = Level(group[j + (GroupSize / 2)], scale);
                packed[(g * GroupSize / 2) + j] = (byte)(lo | (hi << 4));
            }
        }

        return new Q4Matrix(packed, scales, rows, cols);

        static int Level(float value, float scale) =>
            scale == 0 ? 8 : (int)Math.Clamp(MathF.Round(value / scale), -8, 7) + 8;
    }

    public override void MatVec(ReadOnlySpan<float> x, Span<float> y)
    {
        var groupsPerRow = Cols / GroupSize;
        var simd = UseVectors;
        var low = Vector128.Create((byte)0x0F);
        var eight = Vector256.Create((sbyte)8);
        for (var r = 0; r < Rows; r++)
        {
            var rowStart = r * Cols;
            if (simd)
            {
                var row = Vector256<float>.Zero;
                for (var g = 0; g < groupsPerRow; g++)
                {
                    var offset = g * GroupSize;
                    var packed = Vector128.Create<byte>(_packed.AsSpan((rowStart + offset) / 2, GroupSize / 2));
                    var levels = Vector256.Create(packed & low, Vector128.ShiftRightLogical(packed, 4)).AsSByte() - eight;
                    var group = DotGroup(levels, x.Slice(offset, GroupSize));
                    row = Vector256.FusedMultiplyAdd(group, Vector256.Create(_scales[(rowStart + offset) / GroupSize]), row);
                }

                y[r] = Vector256.Sum(row);
                continue;
            }

            var sum = 0f;
            for (var g = 0; g < groupsPerRow; g++)
            {
                var offset = g * GroupSize;
                var packed = _packed.AsSpan((rowStart + offset) / 2, GroupSize / 2);
                var xs = x.Slice(offset, GroupSize);
                var acc = 0f;
                for (var j = 0; j < packed.Length; j++)
                {
                    var b = packed[j];
                    acc += (((b & 0x0F) - 8) * xs[j]) + (((b >> 4) - 8) * xs[j + (GroupSize / 2)]);
                }

                sum += acc * _scales[(rowStart + offset) / GroupSize];
            }

            y[r] = sum;
        }
    }
}
