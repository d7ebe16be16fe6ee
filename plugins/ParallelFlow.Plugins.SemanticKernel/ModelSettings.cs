using System.Text.Json;
using ParallelFlow.LocalModel;

namespace ParallelFlow.Plugins.SemanticKernel;

/// <summary>Where a named model lives.</summary>
internal enum Provider
{
    Local,
    OpenAI,
    AzureOpenAI,
    OpenAICompatible,
}

/// <summary>
/// One model from the plugin's settings in plugins.json. Keys are never in the settings: <c>api_key_env</c> names
/// the environment variable that holds one, read only when the model is first used.
/// </summary>
internal sealed record ModelSettings(string Name, Provider Provider, string? ModelId, string? Endpoint, string? Deployment, string? ApiKeyEnv, Precision Precision, string? ModelPath, string? TokenizerPath)
{
    private static readonly string[] Keys = ["provider", "model", "endpoint", "deployment", "api_key_env", "precision", "model_path", "tokenizer_path"];
    private static readonly Dictionary<string, Provider> Providers = new(StringComparer.Ordinal)
    {
        ["local"] = Provider.Local,
        ["openai"] = Provider.OpenAI,
        ["azure-openai"] = Provider.AzureOpenAI,
        ["openai-compatible"] = Provider.OpenAICompatible,
    };

    /// <summary>The stories15M model at three precisions, used when the settings declare no models.</summary>
    public static IReadOnlyDictionary<string, ModelSettings> Defaults { get; } = new Dictionary<string, ModelSettings>(StringComparer.Ordinal)
    {
        ["stories15m"] = new("stories15m", Provider.Local, null, null, null, null, Precision.F32, null, null),
        ["stories15m-q8"] = new("stories15m-q8", Provider.Local, null, null, null, null, Precision.Q8, null, null),
        ["stories15m-q4"] = new("stories15m-q4", Provider.Local, null, null, null, null, Precision.Q4, null, null),
    };

    /// <summary>Reads <c>models</c>; every problem is a message naming the model and the key.</summary>
    /// <exception cref="InvalidOperationException">The settings are wrong; the message lists every problem.</exception>
    public static IReadOnlyDictionary<string, ModelSettings> ParseAll(JsonElement settings)
    {
        if (settings.ValueKind != JsonValueKind.Object || !settings.TryGetProperty("models", out var models))
        {
            return Defaults;
        }

        var problems = new List<string>();
        var result = new Dictionary<string, ModelSettings>(StringComparer.Ordinal);
        if (models.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidOperationException("settings.models must be an object: model name -> { provider, model, endpoint, api_key_env, ... }");
        }

        foreach (var model in models.EnumerateObject())
        {
            var parsed = Parse(model.Name, model.Value, problems);
            if (parsed is not null)
            {
                result[model.Name] = parsed;
            }
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join("; ", problems));
        }

        return result;
    }

    private static ModelSettings? Parse(string name, JsonElement value, List<string> problems)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"model '{name}' must be an object");
            return null;
        }

        foreach (var property in value.EnumerateObject())
        {
            if (property.Name is "api_key" or "key" or "apiKey")
            {
                problems.Add($"model '{name}': keys do not go in plugins.json; put the key in an environment variable and name it with 'api_key_env'");
            }
            else if (Array.IndexOf(Keys, property.Name) < 0)
            {
                problems.Add($"model '{name}': unknown key '{property.Name}'. Known keys: {string.Join(", ", Keys)}");
            }
        }

        string? Text(string key) => value.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var providerName = Text("provider") ?? "local";
        if (!Providers.TryGetValue(providerName, out var provider))
        {
            problems.Add($"model '{name}': unknown provider '{providerName}'. Known providers: {string.Join(", ", Providers.Keys)}");
            return null;
        }

        var precision = Precision.F32;
        if (Text("precision") is { } p)
        {
            if (!Enum.TryParse(p, ignoreCase: true, out precision))
            {
                problems.Add($"model '{name}': precision must be f32, q8 or q4");
            }
        }

        var settings = new ModelSettings(name, provider, Text("model"), Text("endpoint"), Text("deployment"), Text("api_key_env"), precision, Text("model_path"), Text("tokenizer_path"));
        switch (provider)
        {
            case Provider.OpenAI when settings.ModelId is null:
                problems.Add($"model '{name}': provider openai needs 'model' (for example gpt-4o-mini)");
                break;
            case Provider.AzureOpenAI when settings.Endpoint is null || settings.Deployment is null:
                problems.Add($"model '{name}': provider azure-openai needs 'endpoint' and 'deployment'");
                break;
            case Provider.OpenAICompatible when settings.Endpoint is null || !Uri.TryCreate(settings.Endpoint, UriKind.Absolute, out _):
                problems.Add($"model '{name}': provider openai-compatible needs 'endpoint', an absolute URL such as http://127.0.0.1:11434/v1");
                break;
            case Provider.Local when (settings.ModelPath is null) != (settings.TokenizerPath is null):
                problems.Add($"model '{name}': give both 'model_path' and 'tokenizer_path', or neither for stories15M");
                break;
        }

        if (provider is Provider.OpenAI or Provider.AzureOpenAI && settings.ApiKeyEnv is null)
        {
            problems.Add($"model '{name}': provider {providerName} needs 'api_key_env', the environment variable that holds the key");
        }

        return settings;
    }
}
