using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Voting.Tests;

/// <summary>Fixed candidate sets and scoring requests.</summary>
internal static class Candidates
{
    public static Candidate Text(string name, string text, double seconds = 1, long outputTokens = 0, string? model = null) =>
        new(name, new TaskResult { Text = text, Usage = new TaskUsage(0, outputTokens, 0) }, TimeSpan.FromSeconds(seconds))
        {
            Worker = "test",
            Parameters = JsonDocument.Parse(model is null ? "{}" : $$"""{"model":"{{model}}"}""").RootElement,
        };

    public static Candidate Json(string name, string json) =>
        new(name, new TaskResult { Json = JsonDocument.Parse(json).RootElement }, TimeSpan.FromSeconds(1));

    public static ScoringRequest Request(string scoring, params Candidate[] candidates) => new()
    {
        TaskId = "vote",
        Description = "pick the best answer",
        With = JsonDocument.Parse(scoring).RootElement,
        Candidates = candidates,
    };
}

/// <summary>Task services that answer judge, embedding and merge calls from a script, recording every call.</summary>
internal sealed class ScriptedServices(Func<string, JsonElement, TaskResult> worker) : ITaskServices
{
    public List<(string Worker, JsonElement With)> Calls { get; } = [];

    public ValueTask<TaskResult> InvokeWorkerAsync(string workerName, JsonElement parameters, string description, IReadOnlyDictionary<string, TaskResult>? inputs, CancellationToken cancellationToken)
    {
        lock (Calls)
        {
            Calls.Add((workerName, parameters.Clone()));
        }

        return ValueTask.FromResult(worker(workerName, parameters));
    }

    public ValueTask<MergeResult> MergeAsync(string mergerName, MergeRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new MergeResult(TaskResult.FromText(string.Join("\n", request.Sections.Select(s => s.Result.ToString()))), []));
}
