using System.Globalization;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using Spectre.Console;

namespace ParallelFlow.Cli.Output;

/// <summary>A live view for an interactive terminal: a progress bar with the elapsed time and an estimate of what is
/// left, each worker with the task it runs and that task's latest output line, the counts by status — the same
/// statuses, counted the same way, as the summary at the end — and the latest failures. A task waiting to retry shows
/// so on its worker until its next attempt ends.</summary>
internal sealed class LiveView(CliConsole console, PlanDefinition plan, FlowRun run) : IRunView
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(250);

    private readonly LiveProgress _progress = new(plan, run.Workers);
    private readonly Queue<string> _notes = new();

    public async Task ShowAsync(IAsyncEnumerable<RunEvent> events)
    {
        var ansi = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(console.Out) });
        await ansi.Live(Render(DateTimeOffset.UtcNow)).AutoClear(false).StartAsync(async context =>
        {
            // Redraw on every event, and between events too, so the running times of long tasks keep moving.
            var enumerator = events.GetAsyncEnumerator();
            await using (enumerator.ConfigureAwait(false))
            {
                var next = enumerator.MoveNextAsync().AsTask();
                while (true)
                {
                    if (await Task.WhenAny(next, Task.Delay(RefreshInterval)).ConfigureAwait(false) != next)
                    {
                        context.UpdateTarget(Render(DateTimeOffset.UtcNow));
                        continue;
                    }

                    if (!await next.ConfigureAwait(false))
                    {
                        break;
                    }

                    Apply(enumerator.Current);
                    context.UpdateTarget(Render(DateTimeOffset.UtcNow));
                    next = enumerator.MoveNextAsync().AsTask();
                }
            }
        }).ConfigureAwait(false);
    }

    private void Apply(RunEvent e)
    {
        _progress.Apply(e);
        if (e.Kind == RunEventKind.PoolResized && e.Message is not null)
        {
            Note($"[blue]pool[/] {Markup.Escape(Shorten(e.Message, 160))}");
        }

        if (e.Kind == RunEventKind.TaskFinished && e.Status is { } status && !status.IsSuccess() && status != TaskRunStatus.Skipped)
        {
            Note($"[red]{Markup.Escape(e.TaskId!)} {status.ToName()}[/]{(e.Message is null ? "" : ": " + Markup.Escape(Shorten(e.Message, 160)))}");
        }
    }

    private void Note(string markup)
    {
        _notes.Enqueue(markup);
        while (_notes.Count > 5)
        {
            _notes.Dequeue();
        }
    }

    private Rows Render(DateTimeOffset now)
    {
        var c = CultureInfo.InvariantCulture;
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"[bold]{Markup.Escape(plan.Id)}[/]")
            .AddColumn("worker").AddColumn("task").AddColumn("type").AddColumn(new TableColumn("running").RightAligned()).AddColumn("latest output");
        for (var worker = 1; worker <= run.Workers; worker++)
        {
            if (_progress.Busy.TryGetValue(worker, out var busy))
            {
                var retry = _progress.Retrying.TryGetValue(busy.Task, out var r)
                    ? string.Create(c, $"[yellow]attempt {r.Attempt}{(r.Until > now ? $" in {(r.Until - now).TotalSeconds:0.0}s" : string.Empty)} after: {Markup.Escape(Shorten(r.Error, 34))}[/]")
                    : null;
                table.AddRow(
                    $"{worker}",
                    $"[green]{Markup.Escape(Shorten(busy.Task, 40))}[/]",
                    Markup.Escape(busy.Worker),
                    string.Create(c, $"{(now - busy.Since).TotalSeconds:0.0}s"),
                    retry ?? (_progress.Output.TryGetValue(busy.Task, out var line) ? Markup.Escape(Shorten(line, 60)) : string.Empty));
            }
            else
            {
                table.AddRow($"{worker}", "[grey]idle[/]", string.Empty, string.Empty, string.Empty);
            }
        }

        var counts = _progress.Counts;
        var parts = new List<string> { $"pending {_progress.Pending}", $"running {_progress.Busy.Count}" };
        foreach (var (status, colour) in new[]
        {
            (TaskRunStatus.Succeeded, "green"), (TaskRunStatus.Cached, "teal"), (TaskRunStatus.Failed, "red"),
            (TaskRunStatus.TimedOut, "darkorange"), (TaskRunStatus.Skipped, "grey"), (TaskRunStatus.Cancelled, "grey"),
        })
        {
            var count = counts.GetValueOrDefault(status);
            if (count > 0 || status is TaskRunStatus.Succeeded or TaskRunStatus.Failed)
            {
                parts.Add($"[{colour}]{status.ToName()} {count}[/]");
            }
        }

        var lines = new List<Spectre.Console.Rendering.IRenderable>
        {
            new Markup(_progress.Bar(now, 30)),
            table,
            new Markup(string.Join(" · ", parts)),
        };
        lines.AddRange(_notes.Select(note => new Markup(note)));
        return new Rows(lines);
    }

    private static string Shorten(string text, int width)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length <= width ? line : line[..(width - 1)] + "…";
    }
}

/// <summary>What the live view shows, kept from the run's events: counts by final status, busy workers, the latest
/// output line of each running task, tasks waiting to retry, and the estimate of the time left.</summary>
internal sealed class LiveProgress
{
    private readonly int _total;
    private int _workers;
    private readonly Dictionary<string, double> _estimates = new(StringComparer.Ordinal);
    private double _estimatedLeft;
    private double _observedSeconds;
    private double _estimatedOfObserved;

    public LiveProgress(PlanDefinition plan, int workers)
    {
        _total = plan.Tasks.Count;
        _workers = Math.Max(1, workers);
        foreach (var task in plan.Tasks)
        {
            var estimate = task.EstimateSeconds ?? 1;
            _estimates[task.Id] = estimate;
            _estimatedLeft += estimate;
        }
    }

    public DateTimeOffset? StartedAt { get; private set; }

    public Dictionary<int, (string Task, string Worker, DateTimeOffset Since)> Busy { get; } = [];

    public Dictionary<string, string> Output { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, (int Attempt, DateTimeOffset Until, string Error)> Retrying { get; } = new(StringComparer.Ordinal);

    /// <summary>Tasks by final status, one count per task, as the summary counts them.</summary>
    public Dictionary<TaskRunStatus, int> Counts { get; } = [];

    public int Finished { get; private set; }

    public int Pending => Math.Max(0, _total - Finished - Busy.Count);

    public void Apply(RunEvent e)
    {
        switch (e.Kind)
        {
            case RunEventKind.RunStarted:
                StartedAt = e.Time;
                break;
            case RunEventKind.PoolResized:
                // The estimate of what is left divides the work by the pool as it is now.
                _workers = Math.Max(1, e.Worker);
                break;
            case RunEventKind.TaskStarted:
                Busy[e.Worker] = (e.TaskId!, e.WorkerType!, e.Time);
                break;
            case RunEventKind.TaskRequeued when e.Message is not null:
                Output[e.TaskId!] = "requeued: " + e.Message;
                break;
            case RunEventKind.TaskOutput when e.Message is not null:
                Output[e.TaskId!] = e.Message;
                break;
            case RunEventKind.TaskRetrying:
                Retrying[e.TaskId!] = (e.Attempt, e.Time + (e.Delay ?? TimeSpan.Zero), e.Message ?? "failed");
                Output.Remove(e.TaskId!);
                break;
            case RunEventKind.TaskFinished:
                Finished++;
                if (e.Status is { } status)
                {
                    Counts[status] = Counts.GetValueOrDefault(status) + 1;
                }

                var slot = Busy.FirstOrDefault(b => b.Value.Task == e.TaskId);
                if (slot.Value.Task is not null)
                {
                    Busy.Remove(slot.Key);
                    if (e.Status is TaskRunStatus.Succeeded && _estimates.TryGetValue(e.TaskId!, out var estimate))
                    {
                        _observedSeconds += (e.Time - slot.Value.Since).TotalSeconds;
                        _estimatedOfObserved += estimate;
                    }
                }

                Retrying.Remove(e.TaskId!);
                Output.Remove(e.TaskId!);
                if (_estimates.Remove(e.TaskId!, out var left))
                {
                    _estimatedLeft -= left;
                }

                break;
        }
    }

    /// <summary>The time left: the estimates of the unfinished tasks, scaled by how long finished tasks took against
    /// theirs, less what running tasks have done already, spread over the workers.</summary>
    public TimeSpan? Remaining(DateTimeOffset now)
    {
        if (Finished == 0 && Busy.Count == 0)
        {
            return null;
        }

        var scale = _estimatedOfObserved > 0 ? _observedSeconds / _estimatedOfObserved : 1;
        var left = Math.Max(0, _estimatedLeft) * scale;
        foreach (var (task, _, since) in Busy.Values)
        {
            if (_estimates.TryGetValue(task, out var estimate))
            {
                left -= Math.Min(estimate * scale, (now - since).TotalSeconds);
            }
        }

        var unfinished = _total - Finished;
        return TimeSpan.FromSeconds(Math.Max(0, left) / Math.Max(1, Math.Min(_workers, unfinished)));
    }

    /// <summary>The progress bar: done of total, percent, elapsed and the estimate of the time left.</summary>
    public string Bar(DateTimeOffset now, int width)
    {
        var c = CultureInfo.InvariantCulture;
        var fraction = _total == 0 ? 1 : (double)Finished / _total;
        var filled = (int)Math.Round(fraction * width);
        var elapsed = StartedAt is { } start ? now - start : TimeSpan.Zero;
        var eta = Remaining(now) is not { } left ? string.Empty
            // The running tasks have gone past their estimates: no time left to count down, but they are not done.
            : left < TimeSpan.FromSeconds(0.05) && Finished < _total ? " · running past the estimates"
            : $" · about {Format(left)} left";
        return string.Create(c, $"[green]{new string('█', filled)}[/][grey]{new string('░', width - filled)}[/] {Finished}/{_total} ({fraction * 100:0}%) · {Format(elapsed)} elapsed{eta}");
    }

    private static string Format(TimeSpan time) => time.TotalSeconds < 60
        ? time.TotalSeconds.ToString("0.0s", CultureInfo.InvariantCulture)
        : time.TotalHours < 1 ? $"{(int)time.TotalMinutes}m{time.Seconds:00}s" : $"{(int)time.TotalHours}h{time.Minutes:00}m";
}
