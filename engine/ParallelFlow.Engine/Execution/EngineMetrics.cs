using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ParallelFlow.Engine.Execution;

/// <summary>The engine's one <see cref="Meter"/> and <see cref="ActivitySource"/>, both named <c>ParallelFlow</c>.</summary>
internal static class EngineMetrics
{
    public const string Name = "ParallelFlow";

    public static readonly ActivitySource ActivitySource = new(Name);

    private static readonly Meter Meter = new(Name);
    private static readonly Counter<long> TasksFinished = Meter.CreateCounter<long>("parallelflow.tasks.finished", "{task}", "Tasks that reached a final status.");
    private static readonly Histogram<double> TaskDuration = Meter.CreateHistogram<double>("parallelflow.task.duration", "s", "Duration of tasks that ran.");

        public static void TaskFinished(string worker, TaskRunStatus status, TimeSpan duration)
    {
        if (TasksFinished.Enabled)
        {
            TasksFinished.Add(1, new KeyValuePair<string, object?>("worker", worker), new KeyValuePair<string, object?>("status", status.ToName()));
        }

        if (TaskDuration.Enabled && duration > TimeSpan.Zero)
        {
            TaskDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("worker", worker));
        }
    }

    public static Activity? StartTaskActivity(Plans.TaskDefinition task, string runId)
    {
        var activity = ActivitySource.StartActivity("parallelflow.task");
        activity?.SetTag("parallelflow.run_id", runId);
        activity?.SetTag("parallelflow.task_id", task.Id);
        activity?.SetTag("parallelflow.worker", task.Worker);
        return activity;
    }
}
