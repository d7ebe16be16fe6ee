using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Workers;

/// <summary>
/// The <c>simulate</c> worker, for demos, tests and benchmarks. Parameters (<c>with</c>):
/// <c>seconds</c> (how long; default 0), <c>mode</c> (<c>sleep</c>, waiting on the clock, or <c>cpu</c>, keeping a core
/// busy; default sleep), <c>fail_attempts</c> (fail the first N attempts with a transient error; default 0),
/// <c>fail</c> (<c>fatal</c> to always fail without retry), <c>output</c> (the result text; default "&lt;id&gt; done").
/// </summary>
internal sealed class SimulateWorker(TimeProvider timeProvider) : ParallelFlowWorker<SimulateWorker.Parameters>
{
    public const string Name = "simulate";

    /// <summary>The parameters, bound once per task (a class, not a record: what it keeps is no part of its value, and a
    /// copy must not take it along).</summary>
    internal sealed class Parameters(double seconds, bool cpu, int failAttempts, bool fatal, string? output)
    {
        public double Seconds { get; } = seconds;

        public bool Cpu { get; } = cpu;

        public int FailAttempts { get; } = failAttempts;

        public bool Fatal { get; } = fatal;

        public string? Output { get; } = output;

        /// <summary>The result when <c>output</c> is given: the same for every run, so made once, when bound.</summary>
        internal TaskResult? Given { get; } = output is null ? null : TaskResult.FromText(output);

        /// <summary>The result last given without an <c>output</c>, and the task it was given to: a result is immutable,
        /// so every run of the task answers with the same one instead of making its text and result again. One reference, so a thread never
        /// reads half of another's.</summary>
        internal Kept? Answered { get; set; }
    }

    /// <summary>A task's result, kept for its next runs.</summary>
    internal sealed record Kept(string TaskId, TaskResult Result);

    protected override Parameters Bind(ParameterReader reader) => new(
        reader.Number("seconds", min: 0) ?? 0,
        reader.OneOf("mode", "sleep", "cpu") == "cpu",
        reader.WholeNumber("fail_attempts", min: 0) ?? 0,
        reader.OneOf("fail", "fatal") == "fatal",
        reader.Text("output"));

    /// <remarks>A task of no duration answers at once, without an async state machine: the worker of the engine's own
    /// benchmarks and warm-up measures the scheduler, not itself.</remarks>
    protected override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, Parameters parameters, CancellationToken cancellationToken) =>
        parameters.Seconds > 0 ? TakeTimeAsync(request, parameters, cancellationToken) : Answer(request, parameters);

    private async ValueTask<TaskResult> TakeTimeAsync(TaskRequest request, Parameters parameters, CancellationToken cancellationToken)
    {
        var duration = TimeSpan.FromSeconds(parameters.Seconds);
        if (parameters.Cpu)
        {
            // Real CPU work: this mode exists to load cores, which a fake clock cannot do.
            CpuWork.Run(duration, cancellationToken);
        }
        else
        {
            await Task.Delay(duration, timeProvider, cancellationToken).ConfigureAwait(false);
        }

        return await Answer(request, parameters).ConfigureAwait(false);
    }

    /// <summary>The task's outcome once its time is up: its result, or the failure it was told to simulate.</summary>
    private static ValueTask<TaskResult> Answer(TaskRequest request, Parameters parameters)
    {
        if (parameters.Fatal)
        {
            return ValueTask.FromException<TaskResult>(new FatalTaskException($"simulated fatal failure of task '{request.TaskId}'"));
        }

        if (request.Attempt <= parameters.FailAttempts)
        {
            return ValueTask.FromException<TaskResult>(new TransientTaskException($"simulated transient failure of task '{request.TaskId}' (attempt {request.Attempt})"));
        }

        if (parameters.Given is { } given)
        {
            return ValueTask.FromResult(given);
        }

        if (parameters.Answered is not { } answered || answered.TaskId != request.TaskId)
        {
            answered = new Kept(request.TaskId, TaskResult.FromText($"{request.TaskId} done"));
            parameters.Answered = answered;
        }

        return ValueTask.FromResult(answered.Result);
    }

    /// <summary>Reads its request only until its attempt completes (what it keeps is the task's id, a string).</summary>
    public override bool KeepsRequests => false;

    /// <summary>A simulated task takes the <c>seconds</c> it is given.</summary>
    public override TaskEstimate? Estimate(JsonElement parameters) =>
        parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("seconds", out var seconds) && seconds.ValueKind == JsonValueKind.Number
            ? new TaskEstimate(Seconds: seconds.GetDouble())
            : null;
}
