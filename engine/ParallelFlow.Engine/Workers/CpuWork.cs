using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace ParallelFlow.Engine.Workers;

/// <summary>
/// A fixed amount of computation that takes a given time on one idle core. The amount is calibrated once per process,
/// so work that competes for cores takes longer, as real CPU-bound work does; spinning until a wall-clock deadline
/// would finish on time however many threads share a core.
/// </summary>
internal static class CpuWork
{
    private const int ChunkSize = 1000;

    private static readonly Lazy<double> ChunksPerSecond = new(Calibrate);

    /// <summary>Computes for about <paramref name="duration"/> of one core's time.</summary>
    public static void Run(TimeSpan duration, CancellationToken cancellationToken = default)
    {
        var chunks = (long)Math.Round(duration.TotalSeconds * ChunksPerSecond.Value);
        var x = 1.0;
        for (var chunk = 0L; chunk < chunks; chunk++)
        {
            x = Chunk(x);
            cancellationToken.ThrowIfCancellationRequested();
        }

        GC.KeepAlive(x);
    }

    /// <summary>Calibrates now, if not done yet, so that the first task is not the one that pays for it.</summary>
    public static void EnsureCalibrated() => _ = ChunksPerSecond.Value;

    /// <summary>The fastest of seven 20 ms measurements: the least disturbed one.</summary>
    private static double Calibrate()
    {
        var best = 0.0;
        for (var trial = 0; trial < 7; trial++)
        {
            var x = 1.0;
            var chunks = 0L;
            var start = Stopwatch.GetTimestamp();
            TimeSpan elapsed;
            do
            {
                for (var i = 0; i < 16; i++, chunks++)
                {
                    x = Chunk(x);
                }

                elapsed = Stopwatch.GetElapsedTime(start);
            }
            while (elapsed < TimeSpan.FromMilliseconds(20));

            GC.KeepAlive(x);
            best = Math.Max(best, chunks / elapsed.TotalSeconds);
        }

        return best;
    }

    // Optimized from the first call: calibrating on tier-0 code would undercount what later, tiered-up calls do.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Chunk(double x)
    {
        for (var i = 0; i < ChunkSize; i++)
        {
            x = Math.Sqrt(x + i);
        }

        return x;
    }
}
