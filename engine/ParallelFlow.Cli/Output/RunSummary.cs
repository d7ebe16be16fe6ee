using System.Globalization;
using System.Text.Json;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Cli.Output;

/// <summary>The end-of-run summary: the tasks (every one for a small run; those that did not succeed for a large
/// one), the votes and sections, then the run's totals and timing. Quiet, it is the one line of totals and the tasks
/// that did not succeed.</summary>
internal static class RunSummary
{
    /// <summary>Runs with more tasks list only the tasks that did not succeed: a table of 100,000 lines helps nobody.</summary>
    public const int MaxListed = 200;

    public static void Print(RunResult result, CliConsole console, bool quiet = false)
    {
        var c = CultureInfo.InvariantCulture;
        var listAll = !quiet && result.Tasks.Count <= MaxListed;
        var listed = result.Tasks.Where(t => listAll || !t.Status.IsSuccess()).Take(MaxListed).ToList();
        var idWidth = listed.Count == 0 ? 0 : Math.Min(40, listed.Max(t => t.TaskId.Length));
        if (!quiet || listed.Count > 0)
        {
            console.Out.WriteLine();
        }

        foreach (var task in listed)
        {
            var detail = task.Status.IsSuccess() ? task.Result?.ToString() : task.Error;
            if (task.Requeued > 0)
            {
                detail = $"[requeued {task.Requeued}x: its silo was lost] {detail}";
            }

            console.Out.WriteLine(string.Create(c,
                $"  {Shorten(task.TaskId, 40).PadRight(idWidth)}  {task.Status.ToName(),-10} {task.Attempts,2} attempt{(task.Attempts == 1 ? " " : "s")} {task.Duration.TotalSeconds,8:0.000}s  {Shorten(detail)}"));
        }

        var unlisted = result.Tasks.Count - listed.Count;
        if (unlisted > 0 && !quiet)
        {
            var notSucceeded = result.Tasks.Count(t => !t.Status.IsSuccess()) - listed.Count(t => !t.Status.IsSuccess());
            console.Out.WriteLine(string.Create(c,
                $"  … {unlisted:N0} more tasks not listed ({notSucceeded:N0} of them did not succeed); the report (--report) and parallelflow show list every task"));
        }

        if (quiet)
        {
            PrintTotals(result, console, quiet);
            return;
        }

        foreach (var task in result.Tasks)
        {
            if (task.Result?.Record is { } record && record.TryGetProperty("kind", out var kind))
            {
                if (kind.ValueEquals("vote"))
                {
                    PrintVote(task.TaskId, record, console);
                }
                else if (kind.ValueEquals("section"))
                {
                    PrintSections(task.TaskId, record, console);
                }
            }
        }

        if (result.Budget is { } budget)
        {
            var parts = new List<string>();
            if (budget.TokenLimit is { } tokens)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{budget.SpentTokens:N0} of {tokens:N0} tokens ({budget.RemainingTokens:N0} left)"));
            }

            if (budget.CostLimit is { } cost)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"cost {budget.SpentCost:0.####} of {cost:0.####} ({budget.RemainingCost:0.####} left)"));
            }

            console.Out.WriteLine();
            console.Out.WriteLine($"Budget ({budget.Policy.ToString().ToLowerInvariant()}): {string.Join(", ", parts)}");
        }

        PrintTotals(result, console, quiet);
    }

    private static void PrintTotals(RunResult result, CliConsole console, bool quiet)
    {
        var c = CultureInfo.InvariantCulture;
        var counts = string.Join(", ", Enum.GetValues<TaskRunStatus>()
            .Where(s => s.IsFinal() && result.Count(s) > 0)
            .Select(s => $"{result.Count(s)} {s.ToName()}"));
        if (!quiet)
        {
            console.Out.WriteLine();
        }

        var reranks = result.Strategy.Reranks == 0 ? string.Empty : string.Create(c, $", re-ranked {result.Strategy.Reranks}× by observed durations");
        console.Out.WriteLine(string.Create(c, $"Run {result.RunId} {result.Status.ToString().ToLowerInvariant()}: {counts} in {result.Elapsed.TotalSeconds:0.000}s on {result.Workers} worker{(result.Workers == 1 ? string.Empty : "s")} ({result.Strategy.Name}{reranks})"));
        if (!quiet)
        {
            console.Out.WriteLine(string.Create(c,
                $"speedup {result.Speedup:0.00}x · utilization {result.WorkerUtilization * 100:0}% · critical path {result.ObservedCriticalPath.Seconds:0.000}s · lower bound {result.LowerBoundSeconds:0.000}s · efficiency {result.Efficiency * 100:0}%"));
        }

        if (result.Strategy.Failure is { } failure)
        {
            console.Out.WriteLine($"warning: {failure}");
        }
    }

    private static void PrintVote(string taskId, JsonElement record, CliConsole console)
    {
        var c = CultureInfo.InvariantCulture;
        console.Out.WriteLine();
        console.Out.WriteLine($"Vote {taskId} ({record.GetProperty("scorer").GetString()}): winner {record.GetProperty("winner").GetString()}{(record.GetProperty("decided_early").GetBoolean() ? ", decided early" : string.Empty)}");
        console.Out.WriteLine($"  {record.GetProperty("rationale").GetString()}");
        var candidates = record.GetProperty("candidates").EnumerateArray().ToList();
        var width = candidates.Max(x => x.GetProperty("name").GetString()!.Length);
        foreach (var candidate in candidates)
        {
            var name = candidate.GetProperty("name").GetString()!.PadRight(width);
            var status = candidate.GetProperty("status").GetString();
            var line = candidate.TryGetProperty("total", out var total)
                ? string.Create(c, $"  {candidate.GetProperty("rank").GetInt32(),2}. {name}  {total.GetDouble(),7:0.000}  ")
                    + string.Join("  ", candidate.GetProperty("scores").EnumerateObject().Select(s => string.Create(c, $"{s.Name} {s.Value.GetDouble():0.###}")))
                : $"   -  {name}  {status}{(candidate.TryGetProperty("error", out var error) ? $": {Shorten(error.GetString())}" : string.Empty)}";
            console.Out.WriteLine(line);
        }
    }

    private static void PrintSections(string taskId, JsonElement record, CliConsole console)
    {
        console.Out.WriteLine();
        console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Sections {taskId} ({record.GetProperty("merger").GetString()}): {record.GetProperty("succeeded").GetInt32()} of {record.GetProperty("sections").GetInt32()} merged, at most {record.GetProperty("peak_in_flight").GetInt32()} in flight (capacity {record.GetProperty("capacity").GetInt32()}), {record.GetProperty("sequential_seconds").GetDouble():0.000}s of work in {record.GetProperty("wall_seconds").GetDouble():0.000}s: speedup {record.GetProperty("speedup").GetDouble():0.00}x over one by one"));
        if (record.TryGetProperty("failures", out var failures))
        {
            foreach (var failure in failures.EnumerateArray().Take(10))
            {
                console.Out.WriteLine($"  failed: {failure.GetProperty("name").GetString()}: {Shorten(failure.GetProperty("error").GetString())}");
            }
        }

        var review = record.GetProperty("manual_review_required").EnumerateArray().ToList();
        foreach (var item in review.Take(10))
        {
            console.Out.WriteLine($"  manual review required: {item.GetString()}");
        }

        if (review.Count > 10)
        {
            console.Out.WriteLine($"  ... and {review.Count - 10} more in the report");
        }
    }

    private static string Shorten(string? text, int width = 70)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var line = text.Length > 4 * width ? text[..(4 * width)] : text;
        line = line.ReplaceLineEndings(" ");
        return line.Length <= width ? line : line[..(width - 3)] + "...";
    }
}
