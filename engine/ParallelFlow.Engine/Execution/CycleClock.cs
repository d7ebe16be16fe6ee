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
/// <see cref="Stopwatch"/> (over at least a millisecond, then again over the process's life), and each run is anchored
/// to <see cref="Stopwatch"/> when it starts, so the timestamps it gives are <see cref="Stopwatch"/>'s ticks as
/// <see cref="TimeProvider.System"/> gives them.</para>
/// <para>The two reads are two lines of machine code in a page mapped for them, written and then made executable (never
/// both). Anything else, a failed mapping, or <c>PARALLELFLOW_CLOCK=system</c> in the environment, and runs read
/// <see cref="TimeProvider"/> as before; so does every run whose options give a clock of their own.</para>
/// </remarks>
internal static unsafe partial class CycleClock
{
    /// <summary>The environment variable that turns the counter off (<c>system</c>).</summary>
    internal const string Variable = "PARALLELFLOW_CLOCK";

    // rdtsc; shl rdx, 32; or rax, rdx; ret
    private static readonly byte[] ReadCode = [0x0F, 0x31, 0x48, 0xC1, 0xE2, 0x20, 0x48, 0x09, 0xD0, 0xC3];

    // lfence; then the same: the read waits for what came before it, as the kernel's does.
    private static readonly byte[] OrderedCode = [0x0F, 0xAE, 0xE8, .. ReadCode];

    // The least span the counter's rate is measured over, and how often it is measured again (Stopwatch ticks).
    private static readonly long MinSpan = Stopwatch.Frequency / 1000;
    private static readonly long Remeasure = Stopwatch.Frequency;

    private static readonly delegate* unmanaged[SuppressGCTransition]<long> s_read;
    private static readonly delegate* unmanaged[SuppressGCTransition]<long> s_ordered;

    // The first pair of readings, which every measurement of the rate starts from.
    private static readonly long s_firstCycles;
    private static readonly long s_firstTicks;

    // The rate last measured, and when (Stopwatch ticks); 0 before it is.
    private static ulong s_rate;
    private static long s_measuredAt;

    static CycleClock()
    {
        if (!Supported(Environment.GetEnvironmentVariable(Variable), ReadClockSource()))
        {
            return;
        }

        nint page;
        try
        {
            page = MapCode([.. ReadCode, .. new byte[64 - ReadCode.Length], .. OrderedCode]);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // A C library the runtime cannot find by that name: the TimeProvider, as anywhere else.
            return;
        }

        if (page == 0)
        {
            return;
        }

        s_read = (delegate* unmanaged[SuppressGCTransition]<long>)page;
        s_ordered = (delegate* unmanaged[SuppressGCTransition]<long>)(page + 64);
        (s_firstCycles, s_firstTicks) = ReadBoth();
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
        && string.Equals(clockSource?.Trim(), "tsc", StringComparison.Ordinal);

    /// <summary>A clock for a run that starts now, anchored to <see cref="Stopwatch"/> at this moment; null when the
    /// counter is not available, or its rate not measured yet (within a millisecond of the first reading).</summary>
    public static Anchor? Start()
    {
        if (s_read == null)
        {
            return null;
        }

        var (cycles, ticks) = ReadBoth();
        var rate = Volatile.Read(ref s_rate);
        if (rate == 0 || ticks - Volatile.Read(ref s_measuredAt) >= Remeasure)
        {
            var span = ticks - s_firstTicks;
            if (span < MinSpan || cycles <= s_firstCycles)
            {
                return rate == 0 ? null : new Anchor(cycles, ticks, rate);
            }

            // Ticks per cycle, as a 32.32 fixed-point number: measured over the whole life of the process so far.
            rate = (ulong)(((UInt128)(ulong)span << 32) / (ulong)(cycles - s_firstCycles));
            Volatile.Write(ref s_rate, rate);
            Volatile.Write(ref s_measuredAt, ticks);
        }

        return new Anchor(cycles, ticks, rate);
    }

    private static (long Cycles, long Ticks) ReadBoth()
    {
        var cycles = s_ordered();
        return (cycles, Stopwatch.GetTimestamp());
    }

    private static string? ReadClockSource()
    {
        try
        {
            return OperatingSystem.IsLinux() ? File.ReadAllText("/sys/devices/system/clocksource/clocksource0/current_clocksource") : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
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

    /// <summary>A run's clock: the counter read at its start and <see cref="Stopwatch"/>'s time then, and the counter's
    /// rate. It turns a counter reading into <see cref="Stopwatch"/> ticks.</summary>
    internal sealed class Anchor(long cycles, long ticks, ulong rate)
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
