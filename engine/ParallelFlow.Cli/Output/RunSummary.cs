using System.Globalization;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Cli.Output;

/// <summary>The end-of-run summary: one line per task, then the run's totals and timing.</summary>
internal static class RunSummary
{
    public static void Print(RunResult result, CliConsole console)
    {
        var c = CultureInfo.InvariantCulture;
        var idWidth = Math.Min(40, result.Tasks.Max(t => t.TaskId.Length));
        console.Out.WriteLine();
        foreach (var task in result.Tasks)
        {
            var detail = task.Status.IsSuccess() ? task.Result?.ToString() : task.Error;
            console.Out.WriteLine(string.Create(c,
                $"  {task.TaskId.PadRight(idWidth)}  {task.Status.ToName(),-10} {task.Attempts,2} attempt{(task.Attempts == 1 ? " " : "s")} {task.Duration.TotalSeconds,8:0.000}s  {Shorten(detail)}"));
        }

        var counts = string.Join(", ", Enum.GetValues<TaskRunStatus>()
            .Where(s => s.IsFinal() && result.Count(s) > 0)
            .Select(s => $"{result.Count(s)} {s.ToName()}"));
        console.Out.WriteLine();
        console.Out.WriteLine(string.Create(c, $"Run {result.RunId} {result.Status.ToString().ToLowerInvariant()}: {counts} in {result.Elapsed.TotalSeconds:0.000}s on {result.Workers} workers"));
        console.Out.WriteLine(string.Create(c,
            $"speedup {result.Speedup:0.00}x · utilization {result.WorkerUtilization * 100:0}% · critical path {result.ObservedCriticalPath.Seconds:0.000}s · lower bound {result.LowerBoundSeconds:0.000}s · efficiency {result.Efficiency * 100:0}%"));
    }

    private static string Shorten(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var line = text.ReplaceLineEndings(" ");
        return line.Length <= 70 ? line : line[..67] + "...";
    }
}
