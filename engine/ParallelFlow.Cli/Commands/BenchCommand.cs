using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Cli.Commands;

/// <summary>
/// <c>parallelflow bench PLAN|TRACE --strategy a,b --workers 2,4 --repeat N</c>: every strategy at every worker count,
/// run N times in interleaved rounds (so that a machine that slows down mid-way slows every case alike), with the
/// makespan's median, min and max against the plan's lower bound and the simulated makespan of the same order; a table
/// here, and CSV, JSON and a self-contained HTML chart on request.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CliConsole console)
    {
        var input = new PlanSource(takesWorkers: false);
        var strategies = new Option<string?>("--strategy", "-s") { Description = "The strategies to compare, comma-separated: built-in (critical_path, priority, fifo, shortest_first) or a plugin's. Default: every one the catalog has." };
        var workers = new Option<string?>("--workers", "-w") { Description = "The worker counts, comma-separated (default: the processor count)." };
        var repeat = NumberOptions.Whole("--repeat", "How many runs of each combination (default 3); the table gives their median, min and max.", 1, "-n");
        var csv = new Option<string?>("--csv") { Description = "Write every run, one row each, as CSV." };
        var json = new Option<string?>("--json") { Description = "Write the runs and the summary as JSON." };
        var html = new Option<string?>("--html") { Description = "Write a self-contained HTML page with a chart of the makespans." };
        var command = new Command("bench", "Runs a plan or a workflow trace under several strategies and worker counts, and compares their makespans with the lower bound and the simulated makespan.")
        {
            strategies, workers, repeat, csv, json, html,
        };
        input.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            _ = EngineWarmUp.Start();
            var (engine, plan) = input.Load(parseResult, console);
            if (plan is null)
            {
                return ExitCodes.InvalidInput;
            }

            var names = Split(parseResult.GetValue(strategies)) is { Count: > 0 } given ? given : [.. engine.Catalog.StrategyNames];
            foreach (var name in names)
            {
                if (engine.Catalog.StrategyProblem(name) is { } problem)
                {
                    await console.Error.WriteLineAsync($"error: --strategy: {problem}").ConfigureAwait(false);
                    return ExitCodes.InvalidInput;
                }
            }

            var counts = new List<int>();
            foreach (var text in Split(parseResult.GetValue(workers)) is { Count: > 0 } w ? w : [Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)])
            {
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
                {
                    await console.Error.WriteLineAsync($"error: --workers: '{text}' is not a worker count; give whole numbers of 1 or more, comma-separated (2,4,8)").ConfigureAwait(false);
                    return ExitCodes.InvalidInput;
                }

                counts.Add(count);
            }

            var repeats = parseResult.GetValue(repeat) ?? 3;
            var compiled = engine.Compile(plan);
            // Round 1 measures the plan, not the process's first run of the engine.
            await RunCommand.WarmedAsync().ConfigureAwait(false);
            var cases = names.SelectMany(s => counts.Select(c => new BenchCase(s, c))).ToList();
            var runs = new List<BenchRun>();
            var total = cases.Count * repeats;
            await console.Error.WriteLineAsync($"{plan.Id}: {plan.Tasks.Count} tasks, {cases.Count} combinations × {repeats} = {total} runs").ConfigureAwait(false);
            for (var round = 1; round <= repeats; round++)
            {
                foreach (var c in cases)
                {
                    // Disposed once read: the next run takes its arrays, so a collection of the last runs' is not timed.
                    using var result = await compiled.RunAsync(new RunOptions { Strategy = c.Strategy, Workers = c.Workers }, cancellationToken).ConfigureAwait(false);
                    if (result.Status == RunStatus.Cancelled && cancellationToken.IsCancellationRequested)
                    {
                        return ExitCodes.Cancelled;
                    }

                    runs.Add(new BenchRun(c, round, result.Elapsed.TotalSeconds, result.Status.ToString().ToLowerInvariant(), result.LowerBoundSeconds));
                    await console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"[{runs.Count}/{total}] {c.Strategy} × {c.Workers}: {result.Elapsed.TotalSeconds:0.000} s{(result.Status == RunStatus.Succeeded ? string.Empty : $" ({result.Status.ToString().ToLowerInvariant()})")}")).ConfigureAwait(false);
                }
            }

            var rows = cases.Select(c =>
            {
                var times = runs.Where(r => r.Case == c).Select(r => r.Seconds).Order().ToArray();
                var simulated = SchedulingStrategies.BuiltIn.Contains(c.Strategy) ? ParallelFlowEngine.SimulateMakespan(plan, c.Workers, c.Strategy) : (double?)null;
                var bounds = runs.Where(r => r.Case == c).Select(r => r.LowerBound).Order().ToArray();
                return new BenchRow(c, Median(times), times[0], times[^1], Median(bounds), simulated,
                    runs.Count(r => r.Case == c && r.Status != "succeeded"));
            }).ToList();

            await console.Out.WriteLineAsync(Table(plan, rows, repeats)).ConfigureAwait(false);
            try
            {
                if (parseResult.GetValue(csv) is { } csvPath)
                {
                    await File.WriteAllTextAsync(csvPath, Csv(runs, rows), cancellationToken).ConfigureAwait(false);
                }

                if (parseResult.GetValue(json) is { } jsonPath)
                {
                    await File.WriteAllTextAsync(jsonPath, Json(plan, runs, rows), cancellationToken).ConfigureAwait(false);
                }

                if (parseResult.GetValue(html) is { } htmlPath)
                {
                    await File.WriteAllTextAsync(htmlPath, Html(plan, rows, repeats), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await console.Error.WriteLineAsync($"error: the results could not be written: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            return rows.Any(r => r.NotSucceeded > 0) ? ExitCodes.TasksFailed : ExitCodes.Success;
        });
        return command;
    }

    private static List<string> Split(string? text) =>
        text is null ? [] : [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static double Median(double[] sorted) => sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;

    private static string Table(PlanDefinition plan, List<BenchRow> rows, int repeats)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{plan.Id}: makespan in seconds over {repeats} run{(repeats == 1 ? "" : "s")} each; the lower bound as the tasks took them (the longer of the critical path and the work ÷ workers), the simulated makespan of the same order from the plan's estimates").AppendLine();
        var header = Header;
        var cells = rows.Select(Cells).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, cells.Select(c => c[i].Length).DefaultIfEmpty(0).Max())).ToArray();
        text.AppendJoin("  ", header.Select((h, i) => i < 2 ? h.PadRight(widths[i]) : h.PadLeft(widths[i]))).AppendLine();
        foreach (var row in cells)
        {
            text.AppendJoin("  ", row.Select((c, i) => i < 2 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).AppendLine();
        }

        var best = rows.GroupBy(r => r.Case.Workers).Select(g => g.MinBy(r => r.Median)!);
        text.Append("fastest: ").AppendJoin("; ", best.Select(b => string.Create(CultureInfo.InvariantCulture, $"{b.Case.Strategy} on {b.Case.Workers} worker{(b.Case.Workers == 1 ? "" : "s")} ({b.Median:0.000} s)")));
        if (rows.Any(r => r.NotSucceeded > 0))
        {
            text.AppendLine().Append("some runs did not succeed (see --csv or --json): their makespans are not comparable");
        }

        return text.ToString();
    }

    private static string Seconds(double value) => value.ToString("0.000", CultureInfo.InvariantCulture);

    private static readonly string[] Header = ["strategy", "workers", "median", "min", "max", "lower bound", "÷ bound", "simulated", "÷ simulated"];

    /// <summary>A row of the summary as the table and the page show it, in the order of <see cref="Header"/>.</summary>
    private static string[] Cells(BenchRow r) =>
    [
        r.Case.Strategy,
        r.Case.Workers.ToString(CultureInfo.InvariantCulture),
        Seconds(r.Median), Seconds(r.Min), Seconds(r.Max),
        Seconds(r.LowerBound),
        r.LowerBound > 0 ? (r.Median / r.LowerBound).ToString("0.00", CultureInfo.InvariantCulture) : "—",
        r.Simulated is { } s ? Seconds(s) : "—",
        r.Simulated is > 0 ? (r.Median / r.Simulated.Value).ToString("0.00", CultureInfo.InvariantCulture) : "—",
    ];

    private static string Csv(List<BenchRun> runs, List<BenchRow> rows)
    {
        var text = new StringBuilder("strategy,workers,round,makespan_seconds,status,lower_bound_seconds,simulated_seconds\n");
        foreach (var run in runs)
        {
            var row = rows.First(r => r.Case == run.Case);
            text.Append(CultureInfo.InvariantCulture, $"{CsvText(run.Case.Strategy)},{run.Case.Workers},{run.Round},{run.Seconds:0.######},{run.Status},{run.LowerBound:0.######},{(row.Simulated is { } s ? s.ToString("0.######", CultureInfo.InvariantCulture) : string.Empty)}\n");
        }

        return text.ToString();
    }

    private static string CsvText(string value) => value.IndexOfAny([',', '"', '\n']) < 0 ? value : $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    private static string Json(PlanDefinition plan, List<BenchRun> runs, List<BenchRow> rows)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("plan", plan.Id);
            writer.WriteNumber("tasks", plan.Tasks.Count);
            writer.WriteNumber("processors", Environment.ProcessorCount);
            writer.WriteStartArray("summary");
            foreach (var r in rows)
            {
                writer.WriteStartObject();
                writer.WriteString("strategy", r.Case.Strategy);
                writer.WriteNumber("workers", r.Case.Workers);
                writer.WriteNumber("median_seconds", r.Median);
                writer.WriteNumber("min_seconds", r.Min);
                writer.WriteNumber("max_seconds", r.Max);
                writer.WriteNumber("lower_bound_seconds", r.LowerBound);
                if (r.Simulated is { } s)
                {
                    writer.WriteNumber("simulated_seconds", s);
                }
                else
                {
                    writer.WriteNull("simulated_seconds");
                }

                writer.WriteNumber("not_succeeded", r.NotSucceeded);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("runs");
            foreach (var run in runs)
            {
                writer.WriteStartObject();
                writer.WriteString("strategy", run.Case.Strategy);
                writer.WriteNumber("workers", run.Case.Workers);
                writer.WriteNumber("round", run.Round);
                writer.WriteNumber("makespan_seconds", run.Seconds);
                writer.WriteNumber("lower_bound_seconds", run.LowerBound);
                writer.WriteString("status", run.Status);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>A page with one SVG chart: per worker count, a bar per strategy at its median, a whisker from min to max,
    /// and marks at the lower bound and the simulated makespan. Nothing is loaded at view time.</summary>
    private static string Html(PlanDefinition plan, List<BenchRow> rows, int repeats)
    {
        static string E(string text) => WebUtility.HtmlEncode(text);
        string N(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
        var strategies = rows.Select(r => r.Case.Strategy).Distinct().ToList();
        var counts = rows.Select(r => r.Case.Workers).Distinct().ToList();
        string[] colours = ["#2563eb", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#9333ea"];
        const double left = 70, top = 30, plotHeight = 300, bar = 26, gap = 10, groupGap = 40;
        var groupWidth = (strategies.Count * (bar + gap)) - gap;
        var width = left + (counts.Count * (groupWidth + groupGap)) + 20;
        var top5 = rows.Max(r => Math.Max(r.Max, Math.Max(r.LowerBound, r.Simulated ?? 0)));
        // Ticks at 1, 2 or 5 × a power of ten, up to just above the tallest mark.
        var step = Math.Pow(10, Math.Floor(Math.Log10(Math.Max(top5, 1e-6) / 5)));
        step *= (top5 / 5 / step) switch { <= 1 => 1, <= 2 => 2, <= 5 => 5, _ => 10 };
        var ticks = Math.Max(1, (int)Math.Ceiling(top5 / step));
        var highest = ticks * step;
        double Y(double seconds) => top + plotHeight - (seconds / highest * plotHeight);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg id=\"pf-bench\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{N(width)}\" height=\"{N(top + plotHeight + 60)}\" role=\"img\" aria-label=\"Makespan by strategy and worker count\">");
        for (var tick = 0; tick <= ticks; tick++)
        {
            var seconds = step * tick;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{N(left)}\" x2=\"{N(width - 10)}\" y1=\"{N(Y(seconds))}\" y2=\"{N(Y(seconds))}\" stroke=\"#e5e7eb\"/><text x=\"{N(left - 6)}\" y=\"{N(Y(seconds) + 4)}\" text-anchor=\"end\" font-size=\"11\">{seconds:0.###} s</text>");
        }

        for (var g = 0; g < counts.Count; g++)
        {
            var x0 = left + 20 + (g * (groupWidth + groupGap));
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{N(x0 + (groupWidth / 2))}\" y=\"{N(top + plotHeight + 20)}\" text-anchor=\"middle\" font-size=\"12\">{counts[g]} worker{(counts[g] == 1 ? "" : "s")}</text>");
            for (var s = 0; s < strategies.Count; s++)
            {
                var row = rows.First(r => r.Case.Strategy == strategies[s] && r.Case.Workers == counts[g]);
                var x = x0 + (s * (bar + gap));
                var title = string.Create(CultureInfo.InvariantCulture, $"{row.Case.Strategy} × {row.Case.Workers}: median {row.Median:0.000} s (min {row.Min:0.000}, max {row.Max:0.000}); lower bound {row.LowerBound:0.000} s{(row.Simulated is { } sim ? $"; simulated {sim:0.000} s" : string.Empty)}");
                svg.Append(CultureInfo.InvariantCulture, $"<g class=\"pf-bar\" data-strategy=\"{E(row.Case.Strategy)}\" data-workers=\"{row.Case.Workers}\"><title>{E(title)}</title>");
                svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{N(x)}\" y=\"{N(Y(row.Median))}\" width=\"{N(bar)}\" height=\"{N(top + plotHeight - Y(row.Median))}\" fill=\"{colours[s % colours.Length]}\"/>");
                svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{N(x + (bar / 2))}\" x2=\"{N(x + (bar / 2))}\" y1=\"{N(Y(row.Min))}\" y2=\"{N(Y(row.Max))}\" stroke=\"#111827\"/>");
                svg.Append(CultureInfo.InvariantCulture, $"<line class=\"pf-bound\" x1=\"{N(x - 3)}\" x2=\"{N(x + bar + 3)}\" y1=\"{N(Y(row.LowerBound))}\" y2=\"{N(Y(row.LowerBound))}\" stroke=\"#dc2626\" stroke-width=\"2\"/>");
                if (row.Simulated is { } simulated)
                {
                    svg.Append(CultureInfo.InvariantCulture, $"<line class=\"pf-simulated\" x1=\"{N(x - 3)}\" x2=\"{N(x + bar + 3)}\" y1=\"{N(Y(simulated))}\" y2=\"{N(Y(simulated))}\" stroke=\"#111827\" stroke-dasharray=\"3 2\" stroke-width=\"2\"/>");
                }

                svg.Append("</g>");
            }
        }

        svg.Append("</svg>");
        var legend = string.Concat(strategies.Select((s, i) => $"<span><i style=\"background:{colours[i % colours.Length]}\"></i>{E(s)}</span>"));
        var table = new StringBuilder("<table><thead><tr>").AppendJoin(string.Empty, Header.Select(h => $"<th>{E(h)}</th>")).Append("</tr></thead><tbody>");
        foreach (var r in rows)
        {
            table.Append("<tr>").AppendJoin(string.Empty, Cells(r).Select(c => $"<td>{E(c)}</td>")).Append("</tr>");
        }

        table.Append("</tbody></table>");
        return $$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>{{E(plan.Id)}}: strategies compared</title>
            <style>
            body { font-family: system-ui, sans-serif; color: #1f2937; margin: 1.5rem; }
            .legend span { margin-right: 1rem; } .legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
            table { border-collapse: collapse; margin-top: 1rem; font-size: .9rem; } th, td { padding: .25rem .6rem; border-bottom: 1px solid #e5e7eb; text-align: right; } th:first-child, td:first-child { text-align: left; }
            .muted { color: #6b7280; }
            </style></head>
            <body>
            <h1>{{E(plan.Id)}}: strategies compared</h1>
            <p class="muted">{{plan.Tasks.Count}} tasks; makespan in seconds, median of {{repeats}} run{{(repeats == 1 ? "" : "s")}} each, with min–max whiskers. Red: the lower bound, as the tasks took them (the longer of the critical path and the work ÷ workers). Dashed: the makespan a list schedule of the same order reaches when every task takes its estimate and scheduling costs nothing. {{Environment.ProcessorCount}} processors.</p>
            <div class="legend">{{legend}}</div>
            {{svg}}
            {{table}}
            </body></html>
            """;
    }

    private sealed record BenchCase(string Strategy, int Workers);

    // LowerBound: the run's own, the longer of its critical path and its work ÷ workers as its tasks took them
    // (estimates can be off; this cannot be beaten).
    private sealed record BenchRun(BenchCase Case, int Round, double Seconds, string Status, double LowerBound);

    private sealed record BenchRow(BenchCase Case, double Median, double Min, double Max, double LowerBound, double? Simulated, int NotSucceeded);
}
