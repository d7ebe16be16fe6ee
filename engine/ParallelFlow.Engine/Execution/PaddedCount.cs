using System.Runtime.InteropServices;

namespace ParallelFlow.Engine.Execution;

/// <summary>A count that several threads change atomically, alone on its cache line: the fields beside it in its
/// object are read on every step, and a count written by one core would otherwise take their line from the other's
/// cache each time.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedCount
{
    [FieldOffset(64)]
    public int Value;
}
