using System.Text.Json;
using System.Text.Json.Serialization;

namespace ParallelFlow.Journal;

/// <summary>What the journal keeps as JSON, serialised by generated code: no reflection, which a trimmed or natively
/// compiled host does not keep. It writes what <see cref="JsonSerializer"/> writes with its defaults.</summary>
[JsonSerializable(typeof(IReadOnlyDictionary<string, JsonElement>))]
[JsonSerializable(typeof(Dictionary<string, JsonElement>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(CacheKeyComponents))]
internal sealed partial class JournalJson : JsonSerializerContext;

/// <summary>A cache key's components, as the journal keeps them beside the key: what a later miss is compared with, to
/// say what changed.</summary>
/// <param name="Worker">The worker type.</param>
/// <param name="Version">The worker's version.</param>
/// <param name="With">The task's parameters, as text.</param>
/// <param name="Description">The task's description.</param>
/// <param name="Inputs">Each dependency's output the task read, by id, as hashed for the key.</param>
internal sealed record CacheKeyComponents(
    [property: JsonPropertyName("worker")] string Worker,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("with")] string With,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("inputs")] IReadOnlyDictionary<string, string> Inputs);
