using System.Text;

namespace ParallelFlow.Plugins.Process;

/// <summary>Keeps the last lines of a stream within a byte budget, counting what it dropped, so a process that
/// prints gigabytes costs a bounded amount of memory and the end of its output — usually the part that explains a
/// failure — is kept.</summary>
internal sealed class BoundedTail(int maxBytes)
{
    private readonly Queue<string> _lines = new();
    private readonly Lock _gate = new();
    private long _bytes;

    public long DroppedBytes { get; private set; }

    public void Add(string line)
    {
        var size = Encoding.UTF8.GetByteCount(line) + 1;
        lock (_gate)
        {
            _lines.Enqueue(line);
            _bytes += size;
            while (_bytes > maxBytes && _lines.Count > 0)
            {
                var dropped = Encoding.UTF8.GetByteCount(_lines.Dequeue()) + 1;
                _bytes -= dropped;
                DroppedBytes += dropped;
            }
        }
    }

    public override string ToString()
    {
        lock (_gate)
        {
            return string.Join('\n', _lines);
        }
    }
}
