using System.Diagnostics;
using System.Runtime.InteropServices;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>The processor's counter as a run's clock: when it is used, and that it gives Stopwatch's time.</summary>
public sealed class CycleClockTests
{
    private static readonly bool LinuxX64 = OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    [Theory]
    [InlineData(null, "tsc\n", true)]
    [InlineData("", "tsc", true)]
    [InlineData("auto", "tsc", true)]
    [InlineData("system", "tsc\n", false)]
    [InlineData(" SYSTEM ", "tsc", false)]
    [InlineData(null, "kvm-clock\n", false)]
    [InlineData(null, "hpet", false)]
    [InlineData(null, null, false)]
    public void The_counter_is_used_only_where_the_kernel_reads_it_and_the_environment_does_not_say_system(string? variable, string? clockSource, bool used) =>
        Assert.Equal(used && LinuxX64, CycleClock.Supported(variable, clockSource));

    [Theory]
    [InlineData(1_000_000, 1_000_000, true)]
    [InlineData(1_000_000, 1_010_000, true)]
    [InlineData(1_000_000, 990_000, true)]
    [InlineData(1_000_000, 1_010_001, false)]
    [InlineData(1_000_000, 989_999, false)]
    [InlineData(1_000_000, 2_000_000, false)]
    public void A_rate_that_moves_by_more_than_one_percent_gives_the_counter_up(ulong last, ulong rate, bool steady) =>
        Assert.Equal(steady, CycleClock.Steady(last, rate));

    [Fact]
    public void A_reading_becomes_stopwatch_ticks_at_the_counter_s_rate_either_side_of_the_anchor()
    {
        // 2.5 counts a tick, as a 2.5 GHz counter against a 1 GHz Stopwatch: 0.4 ticks a count in 32.32 fixed point.
        var anchor = new CycleClock.Anchor(cycles: 1_000_000, ticks: 5_000, rate: (ulong)(0.4 * (1UL << 32)) + 1);

        Assert.Equal(5_000, anchor.ToTicks(1_000_000));
        Assert.Equal(5_400, anchor.ToTicks(1_001_000));
        Assert.Equal(4_600, anchor.ToTicks(999_000));
        // Thirty days of counts: no overflow, and within the rate's rounding (a part in a billion) of the exact value.
        const long month = 30L * 24 * 3600 * 2_500_000_000;
        Assert.InRange(anchor.ToTicks(1_000_000 + month), 5_000 + (month / 5 * 2), 5_000 + (month / 5 * 2) + (month / 1_000_000_000));
    }

    [Fact]
    public void A_run_s_clock_keeps_time_with_the_stopwatch()
    {
        var anchor = CycleClock.Start();
        if (!CycleClock.IsAvailable)
        {
            // Not this machine's clock source (or not Linux x64): runs read the TimeProvider, and no anchor is made.
            Assert.Null(anchor);
            return;
        }

        // The first reading is taken when the class is first used; its rate needs a millisecond of it.
        var until = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 500);
        while (anchor is null || Stopwatch.GetTimestamp() < until)
        {
            anchor = CycleClock.Start();
        }

        // Both clocks read around a few milliseconds of work: they agree far within what a task's time needs.
        var worked = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 200);
        while (Stopwatch.GetTimestamp() < worked)
        {
            Thread.SpinWait(100);
        }

        var clock = anchor.Value;
        var before = Stopwatch.GetTimestamp();
        var counted = clock.NowOrdered();
        var after = Stopwatch.GetTimestamp();
        var slack = Stopwatch.Frequency / 20_000;
        Assert.InRange(counted, before - slack, after + slack);
        Assert.True(clock.Now() >= counted - slack);
    }
}
