using System.Text;

namespace ParallelFlow.Engine.Plans;

/// <summary>Hands out one string for each short ASCII text that repeats while a file is read — keys such as
/// <c>depends_on</c>, worker names, small numbers — so a plan of a million tasks holds a few thousand strings for them
/// instead of millions. A direct-mapped table: a miss just replaces the slot.</summary>
internal sealed class Utf8StringCache
{
    private const int MaxLength = 24;
    private readonly string?[] _slots = new string?[512];

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxLength || !Ascii.IsValid(utf8))
        {
            return Encoding.UTF8.GetString(utf8);
        }

        var hash = (uint)utf8.Length;
        foreach (var b in utf8)
        {
            hash = (hash * 31) + b;
        }

        ref var slot = ref _slots[hash & (uint)(_slots.Length - 1)];
        if (slot is { } cached && Ascii.Equals(utf8, cached))
        {
            return cached;
        }

        return slot = Encoding.ASCII.GetString(utf8);
    }
}
