namespace ParallelFlow.LocalModel;

/// <summary>How the weight matrices are held in memory once loaded.</summary>
public enum Precision
{
    /// <summary>32-bit floats, exactly as stored in the model file.</summary>
    F32,

    /// <summary>8-bit integers with one float scale per group of 32 weights (symmetric, quantised at load).</summary>
    Q8,

    /// <summary>4-bit integers with one float scale per group of 32 weights (symmetric, quantised at load).</summary>
    Q4,
}
