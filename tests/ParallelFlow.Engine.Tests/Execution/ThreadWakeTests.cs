using System.Diagnostics;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>When a run wakes a thread-pool thread: only after a pause since a run last started or finished (the
/// process's first run included), never for runs back to back.</summary>
public sealed class ThreadWakeTests
{
    private static readonly long Microsecond = Stopwatch.Frequency / 1_000_000;

    [Fact]
    public void Runs_after_a_pause_wake_a_thread_and_runs_back_to_back_do_not()
    {
        var queued = 0;
        var wake = new ThreadWake(() => queued++);
        var now = 1_000_000 * Microsecond;

        // The first run: nothing ran before it.
        Assert.True(wake.BeforeRun(now));

        // Started 10 µs after the last started, then 10 µs after one finished (a long run): the threads still spin.
        Assert.False(wake.BeforeRun(now += 10 * Microsecond));
        wake.RunFinished(now += 5_000 * Microsecond);
        Assert.False(wake.BeforeRun(now += 10 * Microsecond));

        // A millisecond after the last finished, and a second after the last started: the threads may have parked.
        wake.RunFinished(now += 100 * Microsecond);
        Assert.True(wake.BeforeRun(now += 1_000 * Microsecond));
        Assert.True(wake.BeforeRun(now += 1_000_000 * Microsecond));
        Assert.Equal(3, queued);
    }
}
