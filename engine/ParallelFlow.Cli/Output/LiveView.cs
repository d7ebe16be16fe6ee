using System.Globalization;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using Spectre.Console;

namespace ParallelFlow.Cli.Output;

/// <summary>A live table for an interactive terminal: each worker and what it runs, the counts by status, and the
/// latest retries and failures.</summary>
internal sealed class LiveView(CliConsole console, PlanDefinition plan, FlowRun run) : IRunView
{
    private readonly Dictionary<int, (string Task, string Worker, DateTimeOffset Since)> _busy = [];
    private readonly Queue<string> _notes = new();
    private int _finished;

    private static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(250);

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
        switch (e.Kind)
        {
            case RunEventKind.TaskStarted:
                _busy[e.Worker] = (e.TaskId!, e.WorkerType!, e.Time);
                break;
            case RunEventKind.TaskFinished:
                _finished++;
                var slot = _busy.FirstOrDefault(b => b.Value.Task == e.TaskId).Key;
                _busy.Remove(slot);
                if (e.Status is { } status && !status.IsSuccess())
                {
                    Note($"[red]{Markup.Escape(e.TaskId!)} {status.ToName()}[/]{(e.Message is null ? "" : ": " + Markup.Escape(e.Message))}");
                }

                break;
            case RunEventKind.TaskRetrying:
                Note(string.Create(CultureInfo.InvariantCulture, $"[yellow]{Markup.Escape(e.TaskId!)} retrying (attempt {e.Attempt}) in {e.Delay?.TotalSeconds:0.##}s[/]: {Markup.Escape(e.Message ?? "")}"));
                break;
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
        var status = run.GetStatus();
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"[bold]{Markup.Escape(plan.Id)}[/] — {_finished}/{plan.Tasks.Count} done")
            .AddColumn("worker").AddColumn("task").AddColumn("type").AddColumn(new TableColumn("running").RightAligned());
        for (var worker = 1; worker <= run.Workers; worker++)
        {
            if (_busy.TryGetValue(worker, out var busy))
            {
                table.AddRow($"{worker}", $"[green]{Markup.Escape(busy.Task)}[/]", Markup.Escape(busy.Worker),
                    string.Create(CultureInfo.InvariantCulture, $"{(now - busy.Since).TotalSeconds:0.0}s"));
            }
            else
            {
                table.AddRow($"{worker}", "[grey]idle[/]", string.Empty, string.Empty);
            }
        }

        var lines = new List<Spectre.Console.Rendering.IRenderable>
        {
            table,
            new Markup($"pending {status.Pending} · running {status.Running} · [green]succeeded {status.Succeeded}[/] · " +
                $"[red]failed {status.Failed}[/] · skipped {status.Skipped} · cancelled {status.Cancelled}"),
        };
        lines.AddRange(_notes.Select(note => new Markup(note)));
        return new Rows(lines);
    }
}
