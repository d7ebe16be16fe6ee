using System.Globalization;

namespace ParallelFlow.Engine.Execution;

/// <summary>The machine's load at one moment, as the adaptive pool reads it.</summary>
/// <param name="Cpu">The share of the machine's CPU time that was busy since the previous sample, 0–1.</param>
/// <param name="AvailableMemoryBytes">Memory the machine can still give without swapping; null when unknown.</param>
/// <param name="TotalMemoryBytes">The machine's memory; null when unknown.</param>
/// <param name="EngineMemoryBytes">This process's resident memory.</param>
/// <param name="Cores">The machine's processors.</param>
internal readonly record struct LoadSample(double Cpu, long? AvailableMemoryBytes, long? TotalMemoryBytes, long EngineMemoryBytes, int Cores);

/// <summary>Where the pool reads the machine's load: <see cref="SystemLoad"/>, or a test's fake.</summary>
internal interface ILoadSource
{
    /// <summary>The load now; CPU as the busy share since the previous call.</summary>
    LoadSample Sample();
}

/// <summary>A change of the pool's size, or of whether new tasks are held back, and why.</summary>
/// <param name="Size">The most tasks that may run at once from now on.</param>
/// <param name="Held">Whether new tasks are held back because the engine is over its memory limit.</param>
/// <param name="Reason">Why, for the <c>pool_resized</c> event; null when nothing changed.</param>
internal readonly record struct PoolDecision(int Size, bool Held, string? Reason);

/// <summary>
/// The adaptive worker pool's rule (<c>parallelism.adaptive</c>), a pure function of the pool and the machine's load so
/// that it can be tested on a fake clock with a fake load. Latency-bound tasks (sleeping, waiting on a model) leave the
/// CPU idle, so while ready work waits the pool grows towards <c>max_workers</c>, as far as the CPU each running task
/// uses leaves room under the threshold; CPU-bound ones fill the cores, so growth stops there and a pool larger than the
/// cores sheds back to them; it grows again only once the CPU is a tenth under the threshold. Available memory under a
/// floor sheds a quarter of the pool at a time. Shedding never stops a running task: a smaller pool only starts fewer
/// (the next task boundary). The engine's own memory grown by more than <c>resources.max_memory_mb</c> since the run
/// started holds back new tasks (one still runs when none is running, so the run goes on).
/// </summary>
internal sealed class AdaptivePool
{
    private readonly int _min;
    private readonly int _max;
    private readonly double _cpuThreshold;
    private readonly long? _engineLimit;
    private readonly bool _adaptive;

    /// <param name="adaptive">Whether the size changes at all; false for a pool that only holds back new tasks when the
    /// engine is over its memory limit.</param>
    /// <param name="min">The least it shrinks to.</param>
    /// <param name="max">The most it grows to.</param>
    /// <param name="cpuThreshold">The machine's busy share above which it stops growing (and sheds to the cores).</param>
    /// <param name="engineLimit">The engine's own memory above which new tasks are held back; none when null.</param>
    public AdaptivePool(bool adaptive, int min, int max, double cpuThreshold, long? engineLimit)
    {
        _adaptive = adaptive;
        _min = Math.Max(1, min);
        _max = Math.Max(_min, max);
        _cpuThreshold = cpuThreshold;
        _engineLimit = engineLimit;
    }

    /// <summary>How often an adaptive pool reads the load.</summary>
    public static readonly TimeSpan AdaptiveInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>How often a fixed pool under a memory limit reads the engine's memory.</summary>
    public static readonly TimeSpan GuardInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>How far under the threshold the CPU must be for the pool to grow: a pool does not grow on one reading
    /// and shed on the next when the CPU hovers at the threshold.</summary>
    public const double Hysteresis = 0.1;

    /// <summary>How often this pool reads the load.</summary>
    public TimeSpan Interval => _adaptive ? AdaptiveInterval : GuardInterval;

    // The engine's memory at the first reading: what it grows by while the run goes on is what the limit bounds.
    private long? _baseline;

    /// <summary>The threshold when <c>resources.cpu_threshold</c> is not set, as in the executors' config.json.</summary>
    public const double DefaultCpuThreshold = 0.8;

    /// <summary>The pool's upper end when <c>max_workers</c> is not set.</summary>
    public const int DefaultMax = 64;

    public int Min => _min;

    public int Max => _max;

    /// <summary>The memory the machine keeps free: the least of 512 MB and a tenth of its memory.</summary>
    public static long MemoryFloor(long? total) => Math.Min(512L * 1024 * 1024, (total ?? long.MaxValue) / 10);

    /// <summary>The pool's next size and hold, given what runs, what waits and the load.</summary>
    public PoolDecision Decide(int size, bool held, int running, int ready, LoadSample load)
    {
        _baseline ??= load.EngineMemoryBytes;
        var grown = load.EngineMemoryBytes - _baseline.Value;
        var hold = _engineLimit is { } limit && grown > limit;
        var holdReason = hold == held ? null : hold
            ? $"new tasks held: the engine grew by {Mb(grown)} MB since the run started, over resources.max_memory_mb ({Mb(_engineLimit!.Value)} MB)"
            : $"new tasks start again: the engine grew by {Mb(grown)} MB since the run started, under resources.max_memory_mb ({Mb(_engineLimit!.Value)} MB)";
        if (!_adaptive)
        {
            return new PoolDecision(size, hold, holdReason);
        }

        var floor = MemoryFloor(load.TotalMemoryBytes);
        if (load.AvailableMemoryBytes is { } available && available < floor)
        {
            return size > _min
                ? new PoolDecision(Math.Max(_min, size - Math.Max(1, size / 4)), hold, $"shrink: available memory {Mb(available)} MB is under the floor of {Mb(floor)} MB")
                : new PoolDecision(size, hold, holdReason);
        }

        var cpu = Math.Clamp(load.Cpu, 0, 1);
        if (cpu > _cpuThreshold)
        {
            // Busy: no growth, and a pool over the cores (grown for latency-bound work) sheds back to them.
            var target = Math.Max(_min, Math.Min(size, Math.Max(1, load.Cores)));
            return target < size
                ? new PoolDecision(target, hold, $"shrink: CPU {Percent(cpu)} is over the threshold of {Percent(_cpuThreshold)}")
                : new PoolDecision(size, hold, holdReason);
        }

        if (ready > 0 && running >= size && size < _max && !hold && cpu <= _cpuThreshold - Hysteresis)
        {
            // Room for as many tasks as the CPU each uses now leaves under the threshold: all of them when they wait
            // (sleep, a model), about the cores when they compute.
            var perTask = running > 0 ? cpu / running : 0;
            var fits = perTask > 0.001 ? (int)Math.Min(_max, Math.Floor(_cpuThreshold / perTask)) : _max;
            var target = Math.Min(_max, Math.Min(running + ready, fits));
            if (target > size)
            {
                return new PoolDecision(target, hold, $"grow: {ready} ready task(s) wait and CPU is at {Percent(cpu)}");
            }
        }

        return new PoolDecision(size, hold, holdReason);
    }

    private static string Mb(long bytes) => (bytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture);

    private static string Percent(double share) => share.ToString("0%", CultureInfo.InvariantCulture);
}

/// <summary>The machine's load from Linux's <c>/proc/stat</c> and <c>/proc/meminfo</c>; elsewhere from this process's
/// CPU time over the processors, without memory figures.</summary>
internal sealed class SystemLoad : ILoadSource
{
    private long _busy;
    private long _total;
    private TimeSpan _processCpu;
    private long _at = System.Diagnostics.Stopwatch.GetTimestamp();

    public SystemLoad() => _ = Sample();

    public LoadSample Sample()
    {
        var engine = Environment.WorkingSet;
        if (OperatingSystem.IsLinux() && ReadStat() is var (busy, total) && total > 0)
        {
            var cpu = total - _total > 0 ? (double)(busy - _busy) / (total - _total) : 0;
            (_busy, _total) = (busy, total);
            var (available, memory) = ReadMeminfo();
            return new LoadSample(cpu, available, memory, engine, Environment.ProcessorCount);
        }

        // This process's share only: what the engine's own workers compute.
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        var used = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(_at, now);
        var share = elapsed > TimeSpan.Zero ? (used - _processCpu) / (elapsed * Environment.ProcessorCount) : 0;
        (_processCpu, _at) = (used, now);
        return new LoadSample(share, null, null, engine, Environment.ProcessorCount);
    }

    /// <summary>The first line of /proc/stat: busy and total jiffies of all processors.</summary>
    private static (long Busy, long Total)? ReadStat()
    {
        try
        {
            using var reader = new StreamReader("/proc/stat");
            var fields = reader.ReadLine()?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields is not { Length: > 5 } || fields[0] != "cpu")
            {
                return null;
            }

            var values = fields.Skip(1).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            var total = values.Sum();
            // user nice system idle iowait irq softirq steal…: idle and iowait are not busy.
            var idle = values[3] + (values.Length > 4 ? values[4] : 0);
            return (total - idle, total);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    private static (long? Available, long? Total) ReadMeminfo()
    {
        try
        {
            long? available = null, total = null;
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    available = Kilobytes(line);
                }
                else if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    total = Kilobytes(line);
                }

                if (available is not null && total is not null)
                {
                    break;
                }
            }

            return (available, total);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return (null, null);
        }
    }

    private static long Kilobytes(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
}
