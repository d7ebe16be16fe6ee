using System.Text.Json;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Engine.Reporting;

/// <summary>
/// Writes a run as a trace in the Chrome trace event format, which Perfetto (ui.perfetto.dev) and chrome://tracing open:
/// one track per worker slot with a slice per attempt, the retry delays on the same track, each task's wait for a worker
/// on a track of its own, and flow arrows along the dependencies.
/// </summary>
/// <remarks>
/// Made from the run's report (<see cref="RunReport"/>), so a run read back from a journal draws the same. Attempts are
/// on the worker slot that ran them when the run recorded it (<see cref="RunOptions.RecordAttempts"/>), else laid on
/// the lowest free slot; a run that kept no attempts draws each task's first start to its end.
/// </remarks>
public static class ChromeTrace
{
    private const int WorkersProcess = 1;
    private const int QueueProcess = 2;

    /// <summary>Writes the trace of a run.</summary>
    /// <param name="result">The run.</param>
    /// <param name="stream">Where to write; left open.</param>
    public static void Write(RunResult result, Stream stream)
    {
        using var report = RunReport.ToDocument(result);
        Write(report.RootElement, stream);
    }

    /// <summary>Writes the trace of a run from its report.</summary>
    /// <param name="report">The run's report, as <see cref="RunReport"/> writes it.</param>
    /// <param name="stream">Where to write; left open.</param>
    public static void Write(JsonElement report, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var timeline = RunTimeline.Of(report);
        using var writer = new Utf8JsonWriter(stream);
        writer.WriteStartObject();
        writer.WriteString("displayTimeUnit", "ms");
        writer.WriteStartObject("otherData");
        writer.WriteString("plan", timeline.PlanId);
        writer.WriteString("run", timeline.RunId);
        writer.WriteString("status", timeline.Status);
        writer.WriteString("started_at", timeline.StartedAt);
        writer.WriteEndObject();
        writer.WriteStartArray("traceEvents");

        Metadata(writer, "process_name", WorkersProcess, 0, $"run {timeline.PlanId} ({timeline.RunId}): workers");
        Metadata(writer, "process_sort_index", WorkersProcess, 0, null, 0);
        Metadata(writer, "process_name", QueueProcess, 0, "waiting for a worker");
        Metadata(writer, "process_sort_index", QueueProcess, 0, null, 1);
        for (var slot = 1; slot <= timeline.Slots; slot++)
        {
            Metadata(writer, "thread_name", WorkersProcess, slot, $"worker {slot}");
            Metadata(writer, "thread_sort_index", WorkersProcess, slot, null, slot);
        }

        foreach (var bar in timeline.Bars)
        {
            writer.WriteStartObject();
            writer.WriteString("name", bar.Attempts > 1 ? $"{bar.TaskId} (attempt {bar.Attempt})" : bar.TaskId);
            writer.WriteString("cat", $"attempt,{bar.Status}");
            writer.WriteString("ph", "X");
            writer.WriteNumber("ts", Micros(bar.Start));
            writer.WriteNumber("dur", Math.Max(1, Micros(bar.End) - Micros(bar.Start)));
            writer.WriteNumber("pid", WorkersProcess);
            writer.WriteNumber("tid", bar.Slot);
            writer.WriteString("cname", bar.Status switch
            {
                "succeeded" or "cached" => "good",
                "timed_out" => "terrible",
                "cancelled" => "grey",
                _ => "bad",
            });
            writer.WriteStartObject("args");
            writer.WriteString("task", bar.TaskId);
            writer.WriteString("worker", bar.Worker);
            writer.WriteNumber("attempt", bar.Attempt);
            writer.WriteString("status", bar.Status);
            if (bar.Error is not null)
            {
                writer.WriteString("error", bar.Error);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();

            // The delay ends where the next attempt starts on the same slot, never after: viewers nest the slices of a
            // thread, and the timestamps, each rounded to a microsecond, can put the next start a microsecond early.
            var delayEnd = bar.RetryDelay is > 0 ? Micros(bar.End + bar.RetryDelay.Value) : 0;
            if (bar.RetryDelay is > 0 && timeline.Bars.FirstOrDefault(b => b.TaskId == bar.TaskId && b.Attempt == bar.Attempt + 1 && b.Slot == bar.Slot) is { } next)
            {
                delayEnd = Math.Min(delayEnd, Micros(next.Start));
            }

            if (bar.RetryDelay is > 0 && delayEnd > Micros(bar.End))
            {
                writer.WriteStartObject();
                writer.WriteString("name", $"retry delay: {bar.TaskId}");
                writer.WriteString("cat", "retry");
                writer.WriteString("ph", "X");
                writer.WriteNumber("ts", Micros(bar.End));
                writer.WriteNumber("dur", delayEnd - Micros(bar.End));
                writer.WriteNumber("pid", WorkersProcess);
                writer.WriteNumber("tid", bar.Slot);
                writer.WriteString("cname", "yellow");
                writer.WriteStartObject("args");
                writer.WriteString("task", bar.TaskId);
                writer.WriteNumber("next_attempt", bar.Attempt + 1);
                writer.WriteNumber("delay_seconds", bar.RetryDelay.Value);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
        }

        // Waits overlap, so they are async slices: each on its own row of the queue's track.
        var waitId = 0;
        foreach (var task in timeline.Tasks)
        {
            if (task.ReadyAt is not { } ready || task.FirstStart is not { } start || start <= ready)
            {
                continue;
            }

            waitId++;
            foreach (var (phase, at) in new[] { ("b", ready), ("e", start) })
            {
                writer.WriteStartObject();
                writer.WriteString("name", $"waiting: {task.Id}");
                writer.WriteString("cat", "queue");
                writer.WriteString("ph", phase);
                writer.WriteNumber("id", waitId);
                writer.WriteNumber("ts", Micros(at));
                writer.WriteNumber("pid", QueueProcess);
                writer.WriteNumber("tid", 0);
                if (phase == "b")
                {
                    writer.WriteStartObject("args");
                    writer.WriteString("task", task.Id);
                    writer.WriteNumber("wait_seconds", Math.Round(start - ready, 6));
                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
            }
        }

        // A flow arrow from each dependency's last attempt to the task's first.
        var flowId = 0;
        foreach (var task in timeline.Tasks)
        {
            if (task.FirstBar is not { } to)
            {
                continue;
            }

            foreach (var dependency in task.DependsOn.Concat(task.After))
            {
                if (!timeline.ById.TryGetValue(dependency, out var from) || from.LastBar is not { } source)
                {
                    continue;
                }

                flowId++;
                Flow(writer, "s", flowId, source.Start + ((source.End - source.Start) / 2), source.Slot, $"{dependency} → {task.Id}");
                Flow(writer, "f", flowId, to.Start, to.Slot, $"{dependency} → {task.Id}");
            }
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
    }

    private static void Flow(Utf8JsonWriter writer, string phase, int id, double at, int slot, string name)
    {
        writer.WriteStartObject();
        writer.WriteString("name", name);
        writer.WriteString("cat", "dependency");
        writer.WriteString("ph", phase);
        writer.WriteNumber("id", id);
        writer.WriteNumber("ts", Micros(at));
        writer.WriteNumber("pid", WorkersProcess);
        writer.WriteNumber("tid", slot);
        if (phase == "f")
        {
            writer.WriteString("bp", "e");
        }

        writer.WriteEndObject();
    }

    private static void Metadata(Utf8JsonWriter writer, string name, int pid, int tid, string? value, int? sortIndex = null)
    {
        writer.WriteStartObject();
        writer.WriteString("name", name);
        writer.WriteString("ph", "M");
        writer.WriteNumber("pid", pid);
        writer.WriteNumber("tid", tid);
        writer.WriteStartObject("args");
        if (value is not null)
        {
            writer.WriteString("name", value);
        }

        if (sortIndex is { } index)
        {
            writer.WriteNumber("sort_index", index);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static long Micros(double seconds) => (long)Math.Round(seconds * 1_000_000);
}
