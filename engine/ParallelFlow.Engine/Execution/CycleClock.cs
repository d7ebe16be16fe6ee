using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// The processor's time-stamp counter, read in one instruction, as the clock of a run's tasks on Linux x64.
/// </summary>
/// <remarks>
/// <para>Every task's end is a clock read: through <see cref="Stopwatch.GetTimestamp"/> that is a call into the runtime's
/// native library and the kernel's vDSO, which orders the read with <c>lfence</c> (or <c>rdtscp</c>). It took 24–27 ns
/// here, about half of what the engine spends on a task of a 100k-task chain; the counter read alone takes 10 ns. The
/// counter is what the kernel's own monotonic clock reads when its clock source is <c>tsc</c>: then the kernel has found
/// it constant-rate and in step across cores, and only then is it used here. The counter's rate is measured against
/// <see cref="Stopwatch"/> (over at least 10 ms, then again each second over the process's life), and each run is
/// anchored to <see cref="Stopwatch"/> when it starts, so the timestamps it gives are <see cref="Stopwatch"/>'s ticks as
/// <see cref="TimeProvider.System"/> gives them. A rate that moves by more than 1%, or a kernel that leaves the counter as
/// its clock source, and runs go back to <see cref="TimeProvider"/> for the process's life.</para>
/// <para>The two reads are two lines of machine code in a page mapped for them, written and then made executable (never
/// both). Another processor or clock source, a mapping the kernel refuses, anything that fails while this is set up, or
/// <c>PARALLELFLOW_CLOCK=system</c> in the environment, and runs read <see cref="TimeProvider"/> as before; so does every
/// run whose engine is given a clock of its own.</para>
/// </remarks>
internal static unsafe partial class CycleClock
{
    /// <summary>The environment variable that turns the counter off (<c>system</c>).</summary>
    internal const string Variable = "PARALLELFLOW_CLOCK";

    // rdtsc; shl rdx, 32; or rax, rdx; ret
    private static readonly byte[] ReadCode = [0x0F, 0x31, 0x48, 0xC1, 0xE2, 0x20, 0x48, 0x09, 0xD0, 0xC3];

    // lfence, before the same read for the ordered one: it waits for what came before it, as the kernel's does.
    private static readonly byte[] Fence = [0x0F, 0xAE, 0xE8];

    // The least span the counter's rate is measured over, and how often it is measured again (Stopwatch ticks).
    private static readonly long MinSpan = Stopwatch.Frequency / 100;
    private static readonly long Remeasure = Stopwatch.Frequency;

    // The widest the counter's two reads around a Stopwatch read may be for the pair to be kept: 10,000 counts are
    // 2–10 µs at the rates counters run at. Wider, and the thread was preempted between them.
    private const long MaxBracket = 10_000;

    // Narrow enough to stop trying: a pair read without a pause takes a few hundred counts.
    private const long NarrowBracket = 1_000;

    private static readonly delegate* unmanaged[SuppressGCTransition]<long> s_read;
    private static readonly delegate* unmanaged[SuppressGCTransition]<long> s_ordered;

    // The first pair of readings, which every measurement of the rate starts from.
    private static readonly long s_firstCycles;
    private static readonly long s_firstTicks;

    // The rate last measured (Stopwatch ticks a count, 32.32 fixed point), and when (Stopwatch ticks); 0 before it is.
    private static ulong s_rate;
    private static long s_measuredAt;

    // 1 while a thread measures the rate; the others use the last one.
    private static int s_measuring;

    // Set for good when the counter stops being trustworthy: its rate moved, or the kernel left it as its clock source.
    private static bool s_abandoned;

    static CycleClock()
    {
        // An optimisation that cannot be set up must never break a run: whatever goes wrong leaves the TimeProvider.
#pragma warning disable CA1031
        try
        {
            if (!Supported(Environment.GetEnvironmentVariable(Variable), ReadClockSource()))
            {
                return;
            }

            // The plain read at the page's start, the ordered one 64 bytes in.
            var code = new byte[64 + Fence.Length + ReadCode.Length];
            ReadCode.CopyTo(code, 0);
            Fence.CopyTo(code, 64);
            ReadCode.CopyTo(code, 64 + Fence.Length);
            var page = MapCode(code);
            if (page == 0)
            {
                return;
            }

            s_read = (delegate* unmanaged[SuppressGCTransition]<long>)page;
            s_ordered = (delegate* unmanaged[SuppressGCTransition]<long>)(page + 64);
            if (!TryReadTogether(tries: 5, out s_firstCycles, out s_firstTicks))
            {
                s_read = null;
            }
        }
        catch (Exception)
        {
            // A C library the runtime cannot find by that name, say.
            s_read = null;
        }
#pragma warning restore CA1031
    }

    /// <summary>Whether runs may use the counter on this machine.</summary>
    public static bool IsAvailable => s_read != null;

    /// <summary>Whether a process with this environment and kernel clock source reads the counter: on Linux x64, when the
    /// kernel's clock source is <c>tsc</c> and the environment does not say <c>system</c>.</summary>
    /// <param name="variable">The value of <see cref="Variable"/>.</param>
    /// <param name="clockSource">The kernel's current clock source, if it could be read.</param>
    internal static bool Supported(string? variable, string? clockSource) =>
        OperatingSystem.IsLinux()
        && RuntimeInformation.ProcessArchitecture == Architecture.X64
        && !string.Equals(variable?.Trim(), "system", StringComparison.OrdinalIgnoreCase)
        && IsTsc(clockSource);

    private static bool IsTsc(string? clockSource) => string.Equals(clockSource?.Trim(), "tsc", StringComparison.Ordinal);

    /// <summary>A clock for a run that starts now, anchored to <see cref="Stopwatch"/> at this moment; null when the
    /// counter is not available, its rate not measured yet (within 10 ms of the first reading), or given up.</summary>
    public static Anchor? Start()
    {
        if (s_read == null || Volatile.Read(ref s_abandoned))
        {
            return null;
        }

        // Bracketed, so that the run's times are Stopwatch's. A pair the thread was preempted in the middle of three
        // times is kept all the same: every time of the run is read from the counter, and they stay in step.
        _ = TryReadTogether(tries: 3, out var cycles, out var ticks);

        var rate = Volatile.Read(ref s_rate);
        if (rate == 0 || ticks - Volatile.Read(ref s_measuredAt) >= Remeasure)
        {
            rate = Measure(ticks, rate);
        }

        return rate == 0 ? null : new Anchor(cycles, ticks, rate);
    }

    /// <summary>Measures the counter's rate over the process's life so far, once <see cref="MinSpan"/> has passed, by
    /// one thread at a time (the others keep the last rate). A rate that moved by more than 1% since the last, or a
    /// kernel that has left the counter as its clock source (checked on a pool thread), gives the counter up.</summary>
    private static ulong Measure(long now, ulong last)
    {
        if (now - s_firstTicks < MinSpan || Interlocked.Exchange(ref s_measuring, 1) != 0)
        {
            return last;
        }

        try
        {
            Volatile.Write(ref s_measuredAt, now);
            if (!TryReadTogether(tries: 5, out var cycles, out var ticks) || cycles <= s_firstCycles)
            {
                return last;
            }

            var rate = (ulong)(((UInt128)(ulong)(ticks - s_firstTicks) << 32) / (ulong)(cycles - s_firstCycles));
            if (last != 0)
            {
                if (!Steady(last, rate))
                {
                    Volatile.Write(ref s_abandoned, true);
                    return 0;
                }

                ThreadPool.UnsafeQueueUserWorkItem(static _ => CheckClockSource(), null);
            }

            Volatile.Write(ref s_rate, rate);
            return rate;
        }
        finally
        {
            Volatile.Write(ref s_measuring, 0);
        }
    }

    /// <summary>Whether a rate measured again is within 1% of the last: a counter that runs at a constant rate reads the
    /// same rate to a few parts in a million, once measured over a second or more.</summary>
    internal static bool Steady(ulong last, ulong rate) => rate <= last + (last / 100) && rate >= last - (last / 100);

    /// <summary>The kernel can leave the counter while the machine runs (its watchdog found it unsteady): then so do runs.</summary>
    private static void CheckClockSource()
    {
        if (!IsTsc(ReadClockSource()))
        {
            Volatile.Write(ref s_abandoned, true);
        }
    }

    /// <summary>A counter reading and a <see cref="Stopwatch"/> reading taken together: the counter read on both sides,
    /// the narrowest of up to <paramref name="tries"/> tries (stopping at one of a few hundred counts), its middle.
    /// False when every try was wider than <see cref="MaxBracket"/>.</summary>
    private static bool TryReadTogether(int tries, out long cycles, out long ticks)
    {
        (cycles, ticks) = (0, 0);
        var narrowest = long.MaxValue;
        for (var i = 0; i < tries && narrowest > NarrowBracket; i++)
        {
            var before = s_ordered();
            var now = Stopwatch.GetTimestamp();
            var width = s_ordered() - before;
            if (width < narrowest)
            {
                (narrowest, cycles, ticks) = (width, before + (width / 2), now);
            }
        }

        return narrowest is >= 0 and <= MaxBracket;
    }

    /// <summary>The kernel's clock source: a few bytes of sysfs, read with the C library's calls (the file classes'
    /// first use takes milliseconds in a new process).</summary>
    private static string? ReadClockSource()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var path = "/sys/devices/system/clocksource/clocksource0/current_clocksource\0"u8;
        var text = stackalloc byte[32];
        int descriptor;
        fixed (byte* name = path)
        {
            descriptor = open(name, 0);
        }

        if (descriptor < 0)
        {
            return null;
        }

        var length = read(descriptor, text, 32);
        _ = close(descriptor);
        return length <= 0 ? null : System.Text.Encoding.ASCII.GetString(text, (int)length);
    }

    /// <summary>Maps a page, writes the code in it, then makes it executable and no longer writable; 0 when either step
    /// is refused (a kernel that forbids executable mappings, say).</summary>
    private static nint MapCode(byte[] code)
    {
        const int Read = 1, Write = 2, Execute = 4, Private = 0x02, Anonymous = 0x20;
        const nuint Size = 4096;
        var page = mmap(0, Size, Read | Write, Private | Anonymous, -1, 0);
        if (page == -1)
        {
            return 0;
        }

        code.CopyTo(new Span<byte>((void*)page, code.Length));
        if (mprotect(page, Size, Read | Execute) != 0)
        {
            _ = munmap(page, Size);
            return 0;
        }

        return page;
    }

    [LibraryImport("libc")]
    private static partial nint mmap(nint address, nuint length, int protection, int flags, int descriptor, nint offset);

    [LibraryImport("libc")]
    private static partial int mprotect(nint address, nuint length, int protection);

    [LibraryImport("libc")]
    private static partial int munmap(nint address, nuint length);

    [LibraryImport("libc")]
    private static partial int open(byte* path, int flags);

    [LibraryImport("libc")]
    private static partial nint read(int descriptor, byte* buffer, nuint count);

    [LibraryImport("libc")]
    private static partial int close(int descriptor);

    /// <summary>A run's clock: the counter read at its start and <see cref="Stopwatch"/>'s time then, and the counter's
    /// rate. It turns a counter reading into <see cref="Stopwatch"/> ticks. A value, kept in the run: no object a run.</summary>
    internal readonly struct Anchor(long cycles, long ticks, ulong rate)
    {
        /// <summary><see cref="Stopwatch"/>'s time at the anchor.</summary>
        public long Ticks => ticks;

        /// <summary>A counter reading as <see cref="Stopwatch"/> ticks.</summary>
        public long ToTicks(long reading)
        {
            var delta = reading - cycles;
            return delta >= 0 ? ticks + Scale((ulong)delta) : ticks - Scale((ulong)-delta);
        }

        /// <summary>The time now, read in one instruction.</summary>
        public long Now() => ToTicks(s_read());

        /// <summary>The time now, read after everything before it.</summary>
        public long NowOrdered() => ToTicks(s_ordered());

        private long Scale(ulong delta)
        {
            var high = Math.BigMul(delta, rate, out var low);
            return (long)((high << 32) | (low >> 32));
        }
    }
}
