namespace ParallelFlow.Engine.Plans;

/// <summary>A place in a plan file, 1-based.</summary>
/// <param name="Line">The line, starting at 1.</param>
/// <param name="Column">The column, starting at 1.</param>
public readonly record struct SourcePosition(int Line, int Column)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Line},{Column}";
}
