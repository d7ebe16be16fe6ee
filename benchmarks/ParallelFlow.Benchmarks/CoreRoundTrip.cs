using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Columns;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// How far apart this machine's cores are right now: the time a cache line takes to go from one thread to another and
/// back, two threads taking turns to write it. On a dedicated machine it is a constant of the processor (tens of
/// nanoseconds between cores that share a cache). In a virtual machine the host may place the virtual CPUs on
/// hyperthreads of one core, on two cores or on two sockets, and move them while a benchmark runs: on the 2-core VM the
/// results in <c>benchmarks/results</c> were taken on it is 55–75 ns for seconds or minutes, then 300–330 ns. Every
/// step of a scheduler whose workers share data pays it, so a result measured in one placement says little about the
/// other: the benchmarks that compare schedulers record it at the start and end of each case
/// (<see cref="CoreRoundTripColumn"/>).
/// </summary>
public static class CoreRoundTrip
{
    /// <summary>The round trip above this is a far placement (another core's cache or another socket), below it a near
    /// one (hyperthreads of one core), on the machine the results were taken on.</summary>
    public const double FarNanoseconds = 150;

    // The line the two threads take turns to write, alone in its cache line (the array's other elements are padding).
    private static readonly long[] Line = new long[32];
    private const int Slot = 16;

    /// <summary>Measures the round trip for about <paramref name="duration"/>; null on a machine with one processor
    /// (the two threads would take turns on it, and the figure would be the scheduler's time slice), or when the
    /// echoing thread never answered within seconds.</summary>
    /// <returns>The mean round trip in nanoseconds.</returns>
    public static double? Measure(TimeSpan duration)
    {
        if (Environment.ProcessorCount < 2)
        {
            return null;
        }

        lock (Line)
        {
            Volatile.Write(ref Line[Slot], 0);
            var clock = Stopwatch.StartNew();
            // The echo answers each odd value with the next even one, until the deadline (plus a margin) passes.
            // A thread that never gets the other's answer gives up after this (the echo's thread never ran, or the
            // measuring one stopped).
            var giveUp = duration + TimeSpan.FromSeconds(5);
            var echo = new Thread(() =>
            {
                for (long expected = 1, spins = 0; ; spins++)
                {
                    var seen = Volatile.Read(ref Line[Slot]);
                    if (seen == expected)
                    {
                        Volatile.Write(ref Line[Slot], expected + 1);
                        expected += 2;
                    }
                    else if (seen < 0 || (spins & 0xFFFF) == 0 && clock.Elapsed > giveUp)
                    {
                        return;
                    }
                }
            })
            { IsBackground = true, Name = "core round trip" };
            echo.Start();
            long trips = 0;
            long value = 0;
            var measured = TimeSpan.Zero;
            while (trips <= 256 || clock.Elapsed - measured < duration)
            {
                if (trips == 256)
                {
                    // The first round trips waited for the echo's thread to start: timed from here on.
                    measured = clock.Elapsed;
                }

                for (var i = 0; i < 256; i++)
                {
                    Volatile.Write(ref Line[Slot], value + 1);
                    for (var spins = 1; Volatile.Read(ref Line[Slot]) != value + 2; spins++)
                    {
                        // The clock is read once in a while only: its read would count in the round trip.
                        if ((spins & 0xFFFF) == 0 && clock.Elapsed - measured > giveUp)
                        {
                            // The echo never ran (its thread was not scheduled): no figure. It is stopped before the
                            // line serves another measurement.
                            Volatile.Write(ref Line[Slot], -1);
                            echo.Join(giveUp);
                            return null;
                        }
                    }

                    value += 2;
                    trips++;
                }
            }

            var nanoseconds = (clock.Elapsed - measured).TotalNanoseconds / (trips - 256);
            Volatile.Write(ref Line[Slot], -1);
            echo.Join();
            return nanoseconds;
        }
    }

    /// <summary><c>--core-round-trip [SECONDS]</c>: prints the round trip once a second (0.2 s of measuring each),
    /// for the seconds given (30 by default), and how many of them were near and far.</summary>
    /// <returns>The exit code: 0, or 2 for a bad argument or a machine with one processor.</returns>
    public static int Watch(string[] args)
    {
        var at = Array.IndexOf(args, "--core-round-trip");
        var seconds = 30;
        if (at + 1 < args.Length && !args[at + 1].StartsWith("--", StringComparison.Ordinal)
            && (!int.TryParse(args[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out seconds) || seconds < 1))
        {
            Console.Error.WriteLine($"--core-round-trip: '{args[at + 1]}' is not a whole number of seconds (1 or more)");
            return 2;
        }

        int near = 0, far = 0;
        var clock = Stopwatch.StartNew();
        for (var second = 0; second < seconds; second++)
        {
            if (Measure(TimeSpan.FromMilliseconds(200)) is not { } nanoseconds)
            {
                Console.Error.WriteLine("--core-round-trip: this machine has one processor (or the second thread never ran): there is no round trip to measure");
                return 2;
            }

            var isNear = nanoseconds < FarNanoseconds;
            _ = isNear ? near++ : far++;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalSeconds,6:0.0} s  {nanoseconds,6:0} ns  {(isNear ? "near" : "far")}"));

            // Paced to one figure a second: the probe keeps both cores busy while it measures, and the rest of the
            // second leaves them to whatever else the machine runs.
            var untilNext = TimeSpan.FromSeconds(second + 1) - clock.Elapsed;
            if (untilNext > TimeSpan.Zero)
            {
                Thread.Sleep(untilNext);
            }
        }

        Console.WriteLine($"{near} s near, {far} s far (far: a round trip of {FarNanoseconds:0} ns or more)");
        return 0;
    }

    /// <summary>"62 ns", or "-" when there is no figure.</summary>
    public static string Format(double? nanoseconds) =>
        nanoseconds is { } ns ? ns.ToString("0 'ns'", CultureInfo.InvariantCulture) : "-";
}

/// <summary>The core round trip (<see cref="CoreRoundTrip"/>) at the start and at the end of each case, as
/// "start / end": a case whose figures differ ran partly in each placement. A benchmark class measures it in its global
/// setup (<see cref="Start"/>) and cleanup (<see cref="End"/>); the column reads what it recorded, in the same process
/// (run with <c>--in-process</c>).</summary>
public sealed class CoreRoundTripColumn() : ValueColumn("core round trip", "Cache-line round trip between the two cores at the case's start / end (55-75 ns near, 300+ ns far on the VM)",
    UnitType.Dimensionless, (_, c) => Recorded.GetValueOrDefault(Key(c.Descriptor.Type.Name, c.Descriptor.WorkloadMethod.Name, Parameters([.. c.Parameters.Items.Select(p => (p.Name, p.Value))]))) ?? "-")
{
    private static readonly ConcurrentDictionary<string, string> Recorded = new();
    private static readonly ConcurrentDictionary<string, double?> Started = new();
    private static readonly TimeSpan Probe = TimeSpan.FromMilliseconds(50);

    /// <summary>Measures the round trip as a case of the benchmark class <paramref name="benchmark"/> (its own type,
    /// not the instance's: an in-process run makes a subclass of it) with these parameters starts.</summary>
    public static void Start(Type benchmark, params (string Name, object? Value)[] parameters) =>
        Started[Key(benchmark.Name, string.Empty, Parameters(parameters))] = CoreRoundTrip.Measure(Probe);

    /// <summary>Measures it as the case ends, and records both for the case of the benchmark method
    /// <paramref name="method"/> (the one that ran since <see cref="Start"/>).</summary>
    public static void End(Type benchmark, string? method, params (string Name, object? Value)[] parameters)
    {
        var start = Started.GetValueOrDefault(Key(benchmark.Name, string.Empty, Parameters(parameters)));
        Recorded[Key(benchmark.Name, method ?? string.Empty, Parameters(parameters))] =
            $"{CoreRoundTrip.Format(start)} / {CoreRoundTrip.Format(CoreRoundTrip.Measure(Probe))}";
    }

    private static string Parameters((string Name, object? Value)[] parameters) =>
        string.Join(";", parameters.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Name}={p.Value}")));

    private static string Key(string type, string method, string parameters) => $"{type}/{method}/{parameters}";
}
