using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Workers;

/// <summary>
/// The <c>simulate</c> worker, for demos, tests and benchmarks. Parameters (<c>with</c>):
/// <c>seconds</c> (how long; default 0), <c>mode</c> (<c>sleep</c>, waiting on the clock, or <c>cpu</c>, keeping a core
/// busy; default sleep), <c>fail_attempts</c> (fail the first N attempts with a transient error; default 0),
/// <c>fail</c> (<c>fatal</c> to always fail without retry), <c>output</c> (the result text; default "&lt;id&gt; done").
/// </summary>
internal sealed class SimulateWorker(TimeProvider timeProvider) : ParallelFlowWorker
{
    public const string Name = "simulate";

    private static readonly string[] Keys = ["seconds", "mode", "fail_attempts", "fail", "output"];

    public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
    {
        var seconds = request.GetDouble("seconds") ?? 0;
        if (seconds > 0)
        {
            var duration = TimeSpan.FromSeconds(seconds);
            if (request.GetString("mode") == "cpu")
            {
                // Real CPU work: this mode exists to load cores, which a fake clock cannot do.
                CpuWork.Run(duration, cancellationToken);
            }
            else
            {
                await Task.Delay(duration, timeProvider, cancellationToken).ConfigureAwait(false);
            }
        }

        if (request.GetString("fail") == "fatal")
        {
            throw new FatalTaskException($"simulated fatal failure of task '{request.TaskId}'");
        }

        if (request.Attempt <= (request.GetDouble("fail_attempts") ?? 0))
        {
            throw new TransientTaskException($"simulated transient failure of task '{request.TaskId}' (attempt {request.Attempt})");
        }

        return TaskResult.FromText(request.GetString("output") ?? $"{request.TaskId} done");
    }

    /// <summary>A simulated task takes the <c>seconds</c> it is given.</summary>
    public override TaskEstimate? Estimate(JsonElement parameters) =>
        parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("seconds", out var seconds) && seconds.ValueKind == JsonValueKind.Number
            ? new TaskEstimate(Seconds: seconds.GetDouble())
            : null;

    public override IReadOnlyList<ParameterProblem> ValidateParameters(JsonElement parameters)
    {
        var problems = new List<ParameterProblem>();
        foreach (var property in parameters.EnumerateObject())
        {
            switch (property.Name)
            {
                case "seconds" when property.Value is not { ValueKind: JsonValueKind.Number } || property.Value.GetDouble() < 0:
                    problems.Add(new("seconds", "seconds must be a number of at least 0"));
                    break;
                case "mode" when property.Value.ValueKind != JsonValueKind.String || property.Value.GetString() is not ("sleep" or "cpu"):
                    problems.Add(new("mode", "mode must be 'sleep' or 'cpu'"));
                    break;
                case "fail_attempts" when property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt32(out var n) || n < 0:
                    problems.Add(new("fail_attempts", "fail_attempts must be a whole number of at least 0"));
                    break;
                case "fail" when property.Value.ValueKind != JsonValueKind.String || property.Value.GetString() != "fatal":
                    problems.Add(new("fail", "fail must be 'fatal'"));
                    break;
                case "output" when property.Value.ValueKind != JsonValueKind.String:
                    problems.Add(new("output", "output must be a string"));
                    break;
                case var name when Array.IndexOf(Keys, name) < 0:
                    problems.Add(new(name, ParameterMessages.Unknown(name, Keys)));
                    break;
            }
        }

        return problems;
    }
}
