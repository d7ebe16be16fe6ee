using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace ParallelFlow.Testing;

/// <summary>A <see cref="FakeTimeProvider"/> that reports every timer created on it (timeouts, retry delays, simulated
/// sleeps), so a test can wait until the engine has armed a timer and then advance the clock exactly to it.</summary>
public sealed class ObservedClock : TimeProvider
{
    private readonly Channel<TimeSpan> _timers = Channel.CreateUnbounded<TimeSpan>();
    private TimeSpan? _ignored;

    public FakeTimeProvider Fake { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => Fake.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ReportingTimer(Fake.CreateTimer(callback, state, dueTime, period), this);
        Armed(dueTime);
        return timer;
    }

    /// <summary>Stops reporting timers of one due time: the engine's cancellation grace period, armed whenever a
    /// worker is cancelled, for tests about other timers.</summary>
    public ObservedClock Ignoring(TimeSpan dueTime)
    {
        _ignored = dueTime;
        return this;
    }

    private void Armed(TimeSpan dueTime)
    {
        // Timers made disarmed and armed later (as CancellationTokenSource does) are reported when armed.
        if (dueTime != Timeout.InfiniteTimeSpan && dueTime != _ignored)
        {
            _timers.Writer.TryWrite(dueTime);
        }
    }

    /// <summary>Waits for the next timer to be created and returns its due time.</summary>
    public async Task<TimeSpan> NextTimerAsync() => await _timers.Reader.ReadAsync().AsTask().Within();

    /// <summary>Waits until timers of these due times (in any order, others in between skipped) have been armed.</summary>
    public async Task TimersAsync(params TimeSpan[] dueTimes)
    {
        var wanted = dueTimes.ToList();
        while (wanted.Count > 0)
        {
            wanted.Remove(await NextTimerAsync());
        }
    }

    public void Advance(TimeSpan by) => Fake.Advance(by);

    private sealed class ReportingTimer(ITimer inner, ObservedClock clock) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            clock.Armed(dueTime);
            return inner.Change(dueTime, period);
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
