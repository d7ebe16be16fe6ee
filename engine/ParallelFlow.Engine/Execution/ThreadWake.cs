using System.Diagnostics;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// Wakes a thread-pool thread for a run that starts after a pause, while the run is prepared. A thread-pool thread
/// spins a little after its last work item, then parks, and a parked thread takes 30–150 µs to run again (on this
/// machine's VM): the first task of a run after a pause (a service's request, a process's first run) waited that long
/// for a thread, where back-to-back runs find one spinning. Woken before the run is prepared, the thread is awake when
/// the first task comes; the run's own hand-overs wake any others it needs, as they always did.
/// </summary>
/// <remarks>One thread, not one per worker: threads spinning for work a run does not have yet take cores from the thread
/// that prepares it, and on 2 cores waking two did no better on the whole
/// (<c>benchmarks/results/2026-12-03-native-aot.md</c>). A run that starts while a long one runs costs an empty work
/// item. Runs back to back (within <see cref="Parked"/> of one another) cost a clock read each.</remarks>
internal sealed class ThreadWake
{
    /// <summary>The process's: every in-process run reports to it.</summary>
    public static readonly ThreadWake Process = new(static () => ThreadPool.UnsafeQueueUserWorkItem(Wake.Instance, preferLocal: false));

    // Longer than this since a run last started or finished, and the threads may have parked; runs back to back find
    // them still spinning.
    internal static readonly TimeSpan Parked = TimeSpan.FromMicroseconds(50);

    private readonly Action _queue;

    // When a run last started or finished (Stopwatch ticks; 0 before the first).
    private long _lastRunEvent;

    /// <summary>Wakes a thread with the given action (a work item that does nothing, for the process's).</summary>
    internal ThreadWake(Action queue) => _queue = queue;

    /// <summary>A run is about to be prepared: when no run has started or finished for longer than
    /// <see cref="Parked"/>, queues a work item that does nothing. It wakes a parked thread, which then spins for work
    /// while the run is prepared and finds its first task.</summary>
    /// <param name="now">The time (Stopwatch ticks).</param>
    /// <returns>Whether a thread was woken.</returns>
    public bool BeforeRun(long now)
    {
        var last = Volatile.Read(ref _lastRunEvent);
        if (last != 0 && Stopwatch.GetElapsedTime(last, now) <= Parked)
        {
            Note(last, now);
            return false;
        }

        Volatile.Write(ref _lastRunEvent, now);
        _queue();
        return true;
    }

    /// <summary>A run finished: a run that starts soon after finds the threads awake.</summary>
    /// <param name="now">The time (Stopwatch ticks).</param>
    public void RunFinished(long now) => Note(Volatile.Read(ref _lastRunEvent), now);

    /// <summary>Records a run's start or end, unless one within a quarter of <see cref="Parked"/> is recorded already:
    /// runs on every core then seldom write the one shared word.</summary>
    private void Note(long last, long now)
    {
        if (Stopwatch.GetElapsedTime(last, now) > Parked / 4)
        {
            Volatile.Write(ref _lastRunEvent, now);
        }
    }

    /// <summary>The work item that wakes a thread: nothing to do.</summary>
    private sealed class Wake : IThreadPoolWorkItem
    {
        public static readonly Wake Instance = new();

        public void Execute()
        {
        }
    }
}
