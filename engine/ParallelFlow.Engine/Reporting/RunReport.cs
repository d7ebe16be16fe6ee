using System.Text.Json;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Workers;

namespace ParallelFlow.Engine.Reporting;

/// <summary>
/// Writes a run's report as JSON in the output format of parallel task executors: <c>execution_summary</c>,
/// <c>results</c> and <c>performance_metrics</c>, plus the lower bound and efficiency. Times are in seconds.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>speedup_factor</c> = total task time / wall time.</item>
/// <item><c>parallel_executions</c> = the most tasks that ran at once; <c>workers_used</c> = the worker slots the run had (for an adaptive pool, the most it grew to).</item>
/// <item><c>sync_points</c> = tasks that join two or more dependencies (there are no wave barriers).</item>
/// <item><c>lower_bound</c> = max(critical path, total task time / workers) on measured durations;
/// <c>efficiency</c> = lower_bound / wall time.</item>
/// </list>
/// </remarks>
public static class RunReport
{
    /// <summary>Writes the report to a stream.</summary>
    /// <param name="result">The run.</param>
    /// <param name="stream">Where to write; left open.</param>
    public static void Write(RunResult result, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(result);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        Write(result, writer);
    }

    /// <summary>The report as a JSON document.</summary>
    /// <param name="result">The run.</param>
    /// <param name="resumeCommand">The command that resumes this run (a journal keeps it), for the next steps; or null.</param>
    /// <returns>The document; the caller disposes it.</returns>
    public static JsonDocument ToDocument(RunResult result, string? resumeCommand = null)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(result, writer, resumeCommand);
        }

        return JsonDocument.Parse(buffer.WrittenMemory);
    }

    /// <summary>What to do next, from how the run ended: the tasks to fix and run again (and the command that resumes
    /// the run, when there is one), the conflicts a person must review, the validation left to run, the budget to raise.</summary>
    /// <param name="result">The run.</param>
    /// <param name="resumeCommand">The command that resumes this run (a journal keeps it), or null.</param>
    /// <returns>The steps, most urgent first; none when every task succeeded and nothing waits for review.</returns>
    public static IReadOnlyList<string> NextSteps(RunResult result, string? resumeCommand = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var steps = new List<string>();
        var failed = result.Tasks.Where(t => t.Status is TaskRunStatus.Failed or TaskRunStatus.TimedOut).ToList();
        var unfinished = result.Tasks.Count(t => !t.Status.IsSuccess());
        var kept = result.Tasks.Count - unfinished;
        if (failed.Count > 0)
        {
            steps.Add($"see why {Names(failed.Select(t => t.TaskId))} did not succeed (their errors); {Again(resumeCommand, unfinished, kept)}");
        }
        else if (result.Status == RunStatus.Cancelled && unfinished > 0)
        {
            steps.Add($"the run was cancelled with {unfinished} task(s) unfinished: {Again(resumeCommand, unfinished, kept)}");
        }

        var overBudget = result.Tasks.Where(t => t.FailureKind == FailureKind.Budget).ToList();
        if (overBudget.Count > 0)
        {
            steps.Add($"raise the budget or lower the estimates: {overBudget.Count} task(s) were skipped for budget ({Names(overBudget.Select(t => t.TaskId))})");
        }

        foreach (var task in result.Tasks)
        {
            if (task.Result?.Record is not { ValueKind: JsonValueKind.Object } record || !record.TryGetProperty("kind", out var kind))
            {
                continue;
            }

            if (kind.ValueEquals("section"))
            {
                var failedSections = record.TryGetProperty("completed_sections", out var sections) && sections.ValueKind == JsonValueKind.Array
                    ? sections.EnumerateArray()
                        .Where(s => s.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.String && status.GetString() is not ("succeeded" or "cached"))
                        .Select(s => s.TryGetProperty("name", out var name) ? name.GetString() ?? "?" : "?")
                        .ToList()
                    : [];
                if (failedSections.Count > 0)
                {
                    steps.Add($"see why section(s) {Names(failedSections)} of task '{task.TaskId}' did not succeed (their errors in its decision): its merged output goes without them");
                }

                var review = record.TryGetProperty("manual_review_required", out var r) && r.ValueKind == JsonValueKind.Array ? r.GetArrayLength() : 0;
                if (review > 0)
                {
                    steps.Add($"review {review} merge conflict(s) of task '{task.TaskId}' (manual_review_required in its decision)");
                }

                if (!record.TryGetProperty("validation", out _))
                {
                    steps.Add($"validate the merged output of task '{task.TaskId}' (or give the section task 'validate' to run it with the plan)");
                }
            }
        }

        return steps;
    }

    private static string Again(string? resumeCommand, int unfinished, int kept) =>
        resumeCommand is null
            ? $"when the cause is fixed, run the plan again ({unfinished} task(s) did not finish; tasks of deterministic workers come from the cache)"
            : $"when the cause is fixed, {resumeCommand} runs the {unfinished} unfinished task(s) and keeps the {kept} that succeeded; after an edit to the plan it also runs again the tasks whose definition changed, with what depends on them";

    private static string Names(IEnumerable<string> ids)
    {
        var list = ids.ToList();
        var shown = string.Join(", ", list.Take(5).Select(id => $"'{id}'"));
        return list.Count > 5 ? $"{shown} and {list.Count - 5} more" : shown;
    }

    /// <summary>Writes the report to a file, replacing it.</summary>
    /// <param name="result">The run.</param>
    /// <param name="path">The file.</param>
    public static void WriteFile(RunResult result, string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        using var stream = File.Create(path);
        Write(result, stream);
    }

    /// <summary>Writes the report as one JSON object.</summary>
    /// <param name="result">The run.</param>
    /// <param name="writer">Where to write.</param>
    public static void Write(RunResult result, Utf8JsonWriter writer) => Write(result, writer, null);

    /// <summary>Writes the report as one JSON object, with the command that resumes the run among its next steps.</summary>
    /// <param name="result">The run.</param>
    /// <param name="writer">Where to write.</param>
    /// <param name="resumeCommand">The command that resumes this run (a journal keeps it), or null.</param>
    public static void Write(RunResult result, Utf8JsonWriter writer, string? resumeCommand)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(writer);
        var ran = result.Tasks.Where(t => t.Attempts > 0).ToList();
        writer.WriteStartObject();
        writer.WriteString("task_id", result.PlanId);
        writer.WriteString("run_id", result.RunId);
        writer.WriteString("mode", result.Mode.ToName());
        writer.WriteString("status", result.Status.ToString().ToLowerInvariant());
        writer.WriteString("started_at", result.StartedAt);
        if (result.Inputs.Count > 0)
        {
            writer.WriteStartObject("inputs");
            foreach (var (name, value) in result.Inputs)
            {
                writer.WritePropertyName(name);
                value.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        writer.WriteStartObject("execution_summary");
        writer.WriteNumber("total_subtasks", result.Tasks.Count);
        writer.WriteNumber("parallel_executions", result.PeakConcurrency);
        writer.WriteNumber("execution_time", Round(result.Elapsed.TotalSeconds));
        writer.WriteNumber("speedup_factor", Round(result.Speedup));
        writer.WriteNumber("workers_used", result.Workers);
        writer.WriteString("strategy", result.Strategy.Name);
        writer.WriteNumber("strategy_reranks", result.Strategy.Reranks);
        if (result.Strategy.Failure is { } failure)
        {
            writer.WriteString("strategy_failure", failure);
        }

        if (result.Tasks.Any(t => t.Context is not null))
        {
            // What context limits kept out of the tasks' inputs (tokens of the engine's counter).
            writer.WriteNumber("context_tokens_saved", result.Tasks.Sum(t => t.Context?.TokensSaved ?? 0));
        }

        if (result.Pool is { } pool)
        {
            writer.WriteStartObject("pool");
            writer.WriteBoolean("adaptive", pool.Adaptive);
            writer.WriteNumber("min_workers", pool.Min);
            writer.WriteNumber("max_workers", pool.Max);
            writer.WriteNumber("peak_workers", pool.Peak);
            writer.WriteStartArray("resizes");
            foreach (var resize in pool.Resizes)
            {
                writer.WriteStartObject();
                writer.WriteNumber("at", Round(resize.At.TotalSeconds));
                writer.WriteNumber("from", resize.From);
                writer.WriteNumber("to", resize.To);
                writer.WriteBoolean("held", resize.Held);
                writer.WriteString("reason", resize.Reason);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteNumber("sync_points", result.Analysis.SyncPoints);
        writer.WriteStartObject("status_counts");
        foreach (var status in Enum.GetValues<TaskRunStatus>().Where(s => s.IsFinal()))
        {
            writer.WriteNumber(status.ToName(), result.Count(status));
        }

        writer.WriteEndObject();
        writer.WriteEndObject();

        writer.WriteStartArray("results");
        foreach (var task in result.Tasks)
        {
            WriteTask(task, writer);
        }

        writer.WriteEndArray();

        writer.WriteStartObject("performance_metrics");
        writer.WriteNumber("worker_utilization", Round(result.WorkerUtilization));
        writer.WriteNumber("avg_task_time", Round(ran.Count == 0 ? 0 : ran.Average(t => t.Duration.TotalSeconds)));
        writer.WriteNumber("critical_path_time", Round(result.ObservedCriticalPath.Seconds));
        WriteIds(writer, "critical_path", result.ObservedCriticalPath.Tasks, always: true);
        writer.WriteNumber("total_task_time", Round(result.TotalTaskTime.TotalSeconds));
        writer.WriteEndObject();

        if (result.Budget is { } budget)
        {
            writer.WriteStartObject("budget");
            writer.WriteString("policy", budget.Policy.ToString().ToLowerInvariant());
            if (budget.TokenLimit is { } tokens)
            {
                writer.WriteNumber("token_limit", tokens);
                writer.WriteNumber("tokens_remaining", budget.RemainingTokens!.Value);
            }

            if (budget.CostLimit is { } cost)
            {
                writer.WriteNumber("cost_limit", cost);
                writer.WriteNumber("cost_remaining", budget.RemainingCost!.Value);
            }

            writer.WriteNumber("tokens_spent", budget.SpentTokens);
            writer.WriteNumber("cost_spent", budget.SpentCost);
            writer.WriteStartArray("tasks");
            foreach (var task in budget.Tasks)
            {
                writer.WriteStartObject();
                writer.WriteString("id", task.TaskId);
                writer.WriteNumber("allowed_tokens", task.AllowedTokens);
                writer.WriteNumber("allowed_cost", task.AllowedCost);
                writer.WriteNumber("spent_tokens", task.SpentTokens);
                writer.WriteNumber("spent_cost", task.SpentCost);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteNumber("lower_bound", Round(result.LowerBoundSeconds));
        writer.WriteNumber("efficiency", Round(result.Efficiency));

        var analysis = result.Analysis;
        writer.WriteStartObject("plan_analysis");
        writer.WriteNumber("waves", analysis.Waves.Count);
        writer.WriteNumber("max_width", analysis.MaxWidth);
        writer.WriteNumber("estimated_critical_path_time", Round(analysis.CriticalPathSeconds));
        writer.WriteNumber("estimated_total_work", Round(analysis.TotalWorkSeconds));
        writer.WriteNumber("estimated_lower_bound", Round(analysis.LowerBoundSeconds(result.Workers)));
        writer.WriteEndObject();
        writer.WriteStartArray("next_steps");
        foreach (var step in NextSteps(result, resumeCommand))
        {
            writer.WriteStringValue(step);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
    }

    private static void WriteTask(TaskRunResult task, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("id", task.TaskId);
        writer.WriteString("worker", task.WorkerType);
        writer.WriteString("status", task.Status.ToName());
        writer.WriteNumber("attempts", task.Attempts);
        if (task.Requeued > 0)
        {
            writer.WriteNumber("requeued", task.Requeued);
        }

        writer.WriteNumber("wave", task.Wave);
        if (task.StartedAt is { } start)
        {
            writer.WriteString("start", start);
        }

        if (task.FinishedAt is { } end)
        {
            writer.WriteString("end", end);
        }

        writer.WriteNumber("duration", Round(task.Duration.TotalSeconds));
        WriteIds(writer, "depends_on", task.DependsOn);
        WriteIds(writer, "after", task.After);
        if (task.ReadyAt is { } ready)
        {
            writer.WriteString("ready_at", ready);
        }

        if (task.AttemptLog.Count > 0)
        {
            writer.WriteStartArray("attempt_log");
            foreach (var attempt in task.AttemptLog)
            {
                writer.WriteStartObject();
                writer.WriteNumber("attempt", attempt.Attempt);
                writer.WriteString("start", attempt.StartedAt);
                writer.WriteString("end", attempt.EndedAt);
                writer.WriteNumber("slot", attempt.Slot);
                writer.WriteString("status", attempt.Status.ToName());
                if (attempt.Error is not null)
                {
                    writer.WriteString("error", attempt.Error);
                }

                if (attempt.RetryDelay is { } delay)
                {
                    writer.WriteNumber("retry_delay", Round(delay.TotalSeconds));
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        if (task.Result is { } output)
        {
            if (output.Text is not null)
            {
                writer.WriteString("output", output.Text);
            }

            if (output.Json is { } json)
            {
                writer.WritePropertyName(output.Text is null ? "output" : "output_json");
                json.WriteTo(writer);
            }

            if (output.Artifacts.Count > 0)
            {
                writer.WriteStartArray("artifacts");
                foreach (var artifact in output.Artifacts)
                {
                    writer.WriteStartObject();
                    writer.WriteString("name", artifact.Name);
                    writer.WriteString("path", artifact.Path);
                    if (artifact.MediaType is not null)
                    {
                        writer.WriteString("media_type", artifact.MediaType);
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            UsageJson.Write(output.Usage, writer);

            if (output.Record is { } record)
            {
                writer.WritePropertyName("decision");
                record.WriteTo(writer);
            }
        }
        else if (task.PartialOutput is { } partial)
        {
            // What a failed task's worker wrote before it failed is its output in the report.
            writer.WriteString("output", partial);
        }

        if (task.Error is not null)
        {
            writer.WriteString("error", task.Error);
            writer.WriteString("failure_kind", task.FailureKind.ToName());
        }

        if (task.Context is { } context)
        {
            writer.WriteStartObject("context");
            writer.WriteString("strategy", context.Strategy);
            writer.WriteNumber("compressed", context.Compressed);
            writer.WriteNumber("tokens_before", context.TokensBefore);
            writer.WriteNumber("tokens_after", context.TokensAfter);
            writer.WriteNumber("tokens_saved", context.TokensSaved);
            if (context.SummaryUsage.TotalTokens > 0)
            {
                writer.WriteNumber("summary_tokens", context.SummaryUsage.TotalTokens);
                writer.WriteNumber("summary_cost", context.SummaryUsage.Cost);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    /// <summary>An array of task ids; left out when empty, unless <paramref name="always"/>.</summary>
    private static void WriteIds(Utf8JsonWriter writer, string name, IReadOnlyList<string> ids, bool always = false)
    {
        if (ids.Count == 0 && !always)
        {
            return;
        }

        writer.WriteStartArray(name);
        foreach (var id in ids)
        {
            writer.WriteStringValue(id);
        }

        writer.WriteEndArray();
    }

    private static double Round(double value) => Math.Round(value, 6);
}
