using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// What a task's result depends on, in canonical form: the worker and its assembly's version, the parameters
/// (JSON with keys sorted), the description, and a hash of each dependency's output. Equal keys mean a cached result
/// may stand in for executing. <see cref="Hash"/> is the SHA-256 of all of it, stable across runs and processes.
/// </summary>
/// <param name="Worker">The worker's name.</param>
/// <param name="WorkerVersion">The worker assembly's version (a plugin update misses the cache).</param>
/// <param name="Parameters">The task's <c>with</c>, canonical JSON.</param>
/// <param name="Description">The task's description.</param>
/// <param name="Inputs">Each dependency's id and the SHA-256 of its output.</param>
public sealed record TaskCacheKey(string Worker, string WorkerVersion, string Parameters, string Description, IReadOnlyDictionary<string, string> Inputs)
{
    /// <summary>The key itself: SHA-256, hex.</summary>
    public string Hash { get; } = Compute(Worker, WorkerVersion, Parameters, Description, Inputs);

    /// <summary>Canonical JSON of a value: object keys sorted, no whitespace.</summary>
    internal static string Canonical(JsonElement value)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            JsonCopy.Write(value, writer, sortKeys: true);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>SHA-256 of a result's text and JSON, as the key of a dependency's output.</summary>
    internal static string HashOf(Sdk.TaskResult? result) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{result?.Text}\u0000{(result?.Json is { } json ? Canonical(json) : string.Empty)}")));

    private static string Compute(string worker, string version, string parameters, string description, IReadOnlyDictionary<string, string> inputs)
    {
        var text = new StringBuilder()
            .Append("worker\u0000").Append(worker).Append('\u0000')
            .Append("version\u0000").Append(version).Append('\u0000')
            .Append("with\u0000").Append(parameters).Append('\u0000')
            .Append("description\u0000").Append(description).Append('\u0000');
        foreach (var (id, hash) in inputs.OrderBy(i => i.Key, StringComparer.Ordinal))
        {
            text.Append("input\u0000").Append(id).Append('\u0000').Append(hash).Append('\u0000');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}

/// <summary>
/// Stores task results by <see cref="TaskCacheKey"/>. Implementations are shared by concurrent runs and must be
/// thread-safe; identical tasks in flight at once are already run once by the engine.
/// </summary>
public interface ITaskCache
{
    /// <summary>A stored result for the key no older than <paramref name="timeToLive"/>, or null.</summary>
    /// <param name="key">The task's key.</param>
    /// <param name="timeToLive">How old a result may be; no limit when null.</param>
    /// <param name="cancellationToken">The run's cancellation.</param>
    /// <returns>The result, or null.</returns>
    ValueTask<Sdk.TaskResult?> FindAsync(TaskCacheKey key, TimeSpan? timeToLive, CancellationToken cancellationToken = default);

    /// <summary>Stores a task's successful result.</summary>
    /// <param name="key">The task's key.</param>
    /// <param name="result">Its result, secrets already masked.</param>
    /// <param name="runId">The run that computed it.</param>
    /// <param name="taskId">The task that computed it.</param>
    /// <param name="cancellationToken">The run's cancellation.</param>
    /// <returns>Completes when the result is stored.</returns>
    ValueTask StoreAsync(TaskCacheKey key, Sdk.TaskResult result, string runId, string taskId, CancellationToken cancellationToken = default);
}
