using System.Globalization;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Cli.Output;

/// <summary>One plain line per event, for pipes, log files and CI: <c>+0.503s finished research-api succeeded</c>.</summary>
internal sealed class PlainView(CliConsole console) : IRunView
{
    public async Task ShowAsync(IAsyncEnumerable<RunEvent> events)
    {
        DateTimeOffset? start = null;
        await foreach (var e in events.ConfigureAwait(false))
        {
            start ??= e.Time;
            await console.Out.WriteLineAsync(Format(e, e.Time - start.Value)).ConfigureAwait(false);
        }
    }

    internal static string Format(RunEvent e, TimeSpan offset)
    {
        var at = string.Create(CultureInfo.InvariantCulture, $"+{offset.TotalSeconds:0.000}s");
        return e.Kind switch
        {
            RunEventKind.RunStarted => $"{at} run started: {e.Message}",
            RunEventKind.TaskQueued => $"{at} queued    {e.TaskId}",
            RunEventKind.TaskStarted => $"{at} started   {e.TaskId} ({e.WorkerType}) on worker {e.Worker}",
            RunEventKind.TaskRetrying => string.Create(CultureInfo.InvariantCulture, $"{at} retrying  {e.TaskId} attempt {e.Attempt} in {e.Delay?.TotalSeconds:0.###}s after: {e.Message}"),
            RunEventKind.TaskRequeued => $"{at} requeued  {e.TaskId} attempt {e.Attempt}: {e.Message}",
            RunEventKind.TaskOutput => $"{at} output    {e.TaskId}: {e.Message}",
            RunEventKind.TaskFinished => $"{at} finished  {e.TaskId} {e.Status?.ToName()}{(e.Message is null ? "" : $": {e.Message}")}",
            RunEventKind.WorkerBusy => $"{at} worker {e.Worker} busy with {e.TaskId}",
            RunEventKind.WorkerIdle => $"{at} worker {e.Worker} idle",
            RunEventKind.PoolResized => $"{at} pool      {e.Message}",
            _ => $"{at} run finished: {e.Message}",
        };
    }
}
