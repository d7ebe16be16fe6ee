using System.Globalization;
using System.Text.Json;

namespace ParallelFlow.Engine.Reporting;

/// <summary>A run's report read as a timeline: each attempt as a bar on a worker slot, in seconds from the run's start.
/// What the Chrome trace draws.</summary>
internal sealed class RunTimeline
{
    private RunTimeline(string planId, string runId, string status, DateTimeOffset startedAt)
    {
        PlanId = planId;
        RunId = runId;
        Status = status;
        StartedAt = startedAt;
    }

    public string PlanId { get; }

    public string RunId { get; }

    public string Status { get; }

    public DateTimeOffset StartedAt { get; }

    /// <summary>The worker slots drawn, numbered 1 to this.</summary>
    public int Slots { get; private set; }

    public List<Bar> Bars { get; } = [];

    public List<TaskLine> Tasks { get; } = [];

    public Dictionary<string, TaskLine> ById { get; } = new(StringComparer.Ordinal);

    /// <summary>One attempt on a worker slot.</summary>
    public sealed record Bar(string TaskId, string Worker, int Attempt, int Attempts, double Start, double End, string Status, string? Error, double? RetryDelay)
    {
        public int Slot { get; set; }
    }

    /// <summary>One task: its dependencies, when it became ready, and its first and last attempt.</summary>
    public sealed class TaskLine(string id, IReadOnlyList<string> dependsOn, IReadOnlyList<string> after, double? readyAt)
    {
        public string Id { get; } = id;

        public IReadOnlyList<string> DependsOn { get; } = dependsOn;

        public IReadOnlyList<string> After { get; } = after;

        public double? ReadyAt { get; } = readyAt;

        public Bar? FirstBar { get; set; }

        public Bar? LastBar { get; set; }

        public double? FirstStart => FirstBar?.Start;
    }

    /// <summary>Reads a report as <see cref="RunReport"/> writes it.</summary>
    /// <exception cref="FormatException">The JSON is not a run report.</exception>
    public static RunTimeline Of(JsonElement report)
    {
        if (report.ValueKind != JsonValueKind.Object || !report.TryGetProperty("results", out var results) || results.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("not a ParallelFlow run report: it has no 'results' array");
        }

        var startedAt = Time(report, "started_at") ?? DateTimeOffset.UnixEpoch;
        var timeline = new RunTimeline(Text(report, "task_id") ?? "plan", Text(report, "run_id") ?? "run", Text(report, "status") ?? "unknown", startedAt);
        double Offset(DateTimeOffset at) => (at - startedAt).TotalSeconds;

        var known = true;
        foreach (var task in results.EnumerateArray())
        {
            var id = Text(task, "id") ?? "?";
            var worker = Text(task, "worker") ?? "?";
            var line = new TaskLine(id, Ids(task, "depends_on"), Ids(task, "after"), Time(task, "ready_at") is { } ready ? Offset(ready) : null);
            timeline.Tasks.Add(line);
            timeline.ById.TryAdd(id, line);

            var bars = new List<Bar>();
            if (task.TryGetProperty("attempt_log", out var log) && log.ValueKind == JsonValueKind.Array && log.GetArrayLength() > 0)
            {
                var count = log.GetArrayLength();
                foreach (var attempt in log.EnumerateArray())
                {
                    var start = Time(attempt, "start");
                    var end = Time(attempt, "end") ?? start;
                    if (start is null)
                    {
                        continue;
                    }

                    var bar = new Bar(id, worker, Number(attempt, "attempt") is { } n ? (int)n : bars.Count + 1, count, Offset(start.Value), Offset(end!.Value),
                        Text(attempt, "status") ?? "succeeded", Text(attempt, "error"), Number(attempt, "retry_delay"))
                    {
                        Slot = Number(attempt, "slot") is { } slot ? (int)slot : 0,
                    };
                    bars.Add(bar);
                }
            }
            else if (Time(task, "start") is { } start && Time(task, "end") is { } end)
            {
                // No attempts kept: one bar from the first start to the end.
                var attempts = Number(task, "attempts") is { } a ? (int)a : 1;
                bars.Add(new Bar(id, worker, attempts, 1, Offset(start), Offset(end), Text(task, "status") ?? "succeeded", Text(task, "error"), null));
            }

            foreach (var bar in bars)
            {
                known &= bar.Slot > 0;
                timeline.Bars.Add(bar);
            }

            line.FirstBar = bars.Count > 0 ? bars[0] : null;
            line.LastBar = bars.Count > 0 ? bars[^1] : null;
        }

        if (!known)
        {
            LayOut(timeline.Bars);
        }

        timeline.Slots = timeline.Bars.Count == 0 ? 0 : timeline.Bars.Max(b => b.Slot);
        return timeline;
    }

    /// <summary>Puts each attempt the report gives no slot (a cached task's, or every one of a run that kept no attempts)
    /// on the lowest slot free for its whole time, around the attempts whose slot is known; a retry's delay keeps its
    /// slot, since the task holds its worker while it waits.</summary>
    private static void LayOut(List<Bar> bars)
    {
        var busy = new List<List<(double Start, double End)>>();
        void Occupy(int slot, Bar bar)
        {
            while (busy.Count < slot)
            {
                busy.Add([]);
            }

            busy[slot - 1].Add((bar.Start, bar.End + (bar.RetryDelay ?? 0)));
        }

        foreach (var bar in bars.Where(b => b.Slot > 0))
        {
            Occupy(bar.Slot, bar);
        }

        foreach (var bar in bars.Where(b => b.Slot <= 0).OrderBy(b => b.Start).ThenBy(b => b.TaskId, StringComparer.Ordinal))
        {
            var end = bar.End + (bar.RetryDelay ?? 0);
            var slot = busy.FindIndex(taken => taken.All(t => t.End <= bar.Start + 1e-9 || t.Start >= end - 1e-9)) + 1;
            bar.Slot = slot > 0 ? slot : busy.Count + 1;
            Occupy(bar.Slot, bar);
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static double? Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    private static DateTimeOffset? Time(JsonElement element, string name) =>
        Text(element, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at) ? at : null;

    private static string[] Ids(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? [.. value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!)]
            : [];
}
