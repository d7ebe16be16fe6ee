using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ParallelFlow.Cli;
using ParallelFlow.Cli.Commands;
using ParallelFlow.LocalModel;

namespace ParallelFlow.ModelServer;

/// <summary>
/// <c>parallelflow-model-server</c>: serves the offline stories15M model over an OpenAI-compatible HTTP API
/// (<c>/v1/models</c>, <c>/v1/chat/completions</c> with streaming, <c>/v1/completions</c>, <c>/v1/embeddings</c>),
/// so any OpenAI client, Semantic Kernel's connector among them, can use it.
/// </summary>
internal static class ModelServerCommand
{
    private static readonly Dictionary<string, Precision> Models = new(StringComparer.Ordinal)
    {
        ["stories15m"] = Precision.F32,
        ["stories15m-q8"] = Precision.Q8,
        ["stories15m-q4"] = Precision.Q4,
    };

    public static RootCommand Create(CliConsole console)
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen; port 0 picks a free port.", DefaultValueFactory = _ => "http://127.0.0.1:8089" };
        var cache = new Option<string?>("--model-cache") { Description = $"Folder for the model files (default: ${ModelStore.CacheVariable} or ~/.cache/parallelflow/models)." };
        var concurrency = NumberOptions.Whole("--max-concurrency", "Generations run at once; more wait (default: the processor count).", min: 1);
        var noAuth = new Option<bool>("--no-auth") { Description = $"Serve without a bearer token. By default every request needs one: ${TokenVariable}, or one made at start and printed once." };
        var command = new RootCommand("Serves the offline stories15M model (f32, q8, q4) over an OpenAI-compatible API.") { urls, cache, concurrency, noAuth };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var store = new ModelStore(parseResult.GetValue(cache));
            ModelFiles files;
            try
            {
                files = await store.EnsureStories15MAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException or InvalidDataException or IOException)
            {
                await console.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            var url = parseResult.GetValue(urls)!;
            if (!Uri.TryCreate(url, UriKind.Absolute, out var listen) || listen.Scheme != Uri.UriSchemeHttp)
            {
                await console.Error.WriteLineAsync($"error: --urls must be an http:// address such as http://127.0.0.1:8089, not '{url}'").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            // A token from the environment is never printed; one made here is printed once, for the clients to use.
            var token = parseResult.GetValue(noAuth) ? null : Environment.GetEnvironmentVariable(TokenVariable)?.Trim() is { Length: > 0 } configured ? configured : null;
            var madeToken = !parseResult.GetValue(noAuth) && token is null;
            if (madeToken)
            {
                token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
            }

            using var server = new ModelServer(files, parseResult.GetValue(concurrency) ?? Environment.ProcessorCount, token, console);
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls(url);
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = MaxBodyBytes);
            var app = builder.Build();
            server.Map(app);
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                await console.Error.WriteLineAsync($"error: cannot listen on {url}: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            await console.Out.WriteLineAsync($"Serving {string.Join(", ", Models.Keys)} at {address}/v1 (Ctrl+C stops)").ConfigureAwait(false);
            if (madeToken)
            {
                await console.Out.WriteLineAsync($"token: {token} (send Authorization: Bearer <token>; set {TokenVariable} to choose it, --no-auth to serve without)").ConfigureAwait(false);
            }
            else if (token is null)
            {
                await console.Out.WriteLineAsync("without a token: every request is served (--no-auth)").ConfigureAwait(false);
                if (!listen.IsLoopback)
                {
                    await console.Error.WriteLineAsync($"warning: {url} is reachable from other machines, and --no-auth lets anyone use the model").ConfigureAwait(false);
                }
            }

            await console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The environment variable a token is read from.</summary>
    public const string TokenVariable = "PARALLELFLOW_MODEL_TOKEN";

    private const long MaxBodyBytes = 1 << 20;

    /// <summary>The HTTP endpoints over the loaded models.</summary>
    private sealed class ModelServer(ModelFiles files, int concurrency, string? token, CliConsole console) : IDisposable
    {
        private readonly SemaphoreSlim _gate = new(concurrency);
        private readonly byte[]? _tokenHash = token is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));

        public void Dispose() => _gate.Dispose();

        public void Map(WebApplication app)
        {
            app.Use(async (context, next) =>
            {
                if (_tokenHash is not null && !Authorized(context.Request.Headers.Authorization.ToString()))
                {
                    context.Response.Headers.WWWAuthenticate = "Bearer";
                    await ErrorAsync(context, 401, "a bearer token is required: send Authorization: Bearer <token>", "authentication_error").ConfigureAwait(false);
                    return;
                }

                await next(context).ConfigureAwait(false);
            });
            app.MapGet("/v1/models", () => Results.Json(new
            {
                @object = "list",
                data = Models.Keys.Select(id => new { id, @object = "model", created = 0, owned_by = "parallelflow" }),
            }));
            app.MapPost("/v1/chat/completions", context => HandleAsync(context, chat: true));
            app.MapPost("/v1/completions", context => HandleAsync(context, chat: false));
            app.MapPost("/v1/embeddings", EmbedAsync);
        }

        private async Task HandleAsync(HttpContext context, bool chat)
        {
            using var body = await ReadAsync(context).ConfigureAwait(false);
            if (body is null)
            {
                return;
            }

            var request = body.RootElement;
            var problem = RequestCheck.Generation(request, chat);
            if (problem is not null)
            {
                await ErrorAsync(context, 400, problem).ConfigureAwait(false);
                return;
            }

            if (await ModelOf(context, request).ConfigureAwait(false) is not { } model)
            {
                return;
            }

            var prompt = chat
                ? string.Join("\n", request.GetProperty("messages").EnumerateArray().Select(Content).Where(c => c.Length > 0))
                : request.TryGetProperty("prompt", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : string.Empty;
            var options = new GenerationOptions
            {
                Temperature = (float)(Number(request, "temperature") ?? 1),
                TopP = (float)(Number(request, "top_p") ?? 1),
                MaxTokens = (int)(Number(request, "max_completion_tokens") ?? Number(request, "max_tokens") ?? 128),
                Seed = Number(request, "seed") is { } seed ? (ulong)seed : (ulong)Random.Shared.NextInt64(1, long.MaxValue),
                TruncatePrompt = true,
            };
            var name = request.GetProperty("model").GetString()!;
            var id = $"{(chat ? "chatcmpl" : "cmpl")}-{Guid.NewGuid():N}";
            var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var stream = request.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
            var watch = Stopwatch.StartNew();
            await _gate.WaitAsync(context.RequestAborted).ConfigureAwait(false);
            try
            {
                var state = new GenerationState();
                if (stream)
                {
                    context.Response.ContentType = "text/event-stream";
                    foreach (var piece in Llama2Generator.Stream(model, prompt, options, state, context.RequestAborted))
                    {
                        await SendAsync(context, Chunk(id, created, name, chat, piece, null)).ConfigureAwait(false);
                    }

                    await SendAsync(context, Chunk(id, created, name, chat, null, state.FinishReason)).ConfigureAwait(false);
                    if (request.TryGetProperty("stream_options", out var streamOptions) && streamOptions.ValueKind == JsonValueKind.Object
                        && streamOptions.TryGetProperty("include_usage", out var includeUsage) && includeUsage.ValueKind == JsonValueKind.True)
                    {
                        // As OpenAI ends a stream asked for its usage: one more chunk, with no choices and the counts.
                        await SendAsync(context, new
                        {
                            id,
                            @object = chat ? "chat.completion.chunk" : "text_completion",
                            created,
                            model = name,
                            choices = Array.Empty<object>(),
                            usage = new { prompt_tokens = state.PromptTokens, completion_tokens = state.CompletionTokens, total_tokens = state.PromptTokens + state.CompletionTokens },
                        }).ConfigureAwait(false);
                    }

                    await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted).ConfigureAwait(false);
                }
                else
                {
                    var result = await Task.Run(() => Llama2Generator.Generate(model, prompt, options, context.RequestAborted), context.RequestAborted).ConfigureAwait(false);
                    object choice = chat
                        ? new { index = 0, message = new { role = "assistant", content = result.Text }, finish_reason = result.FinishReason }
                        : new { index = 0, text = result.Text, finish_reason = result.FinishReason };
                    await context.Response.WriteAsJsonAsync(new
                    {
                        id,
                        @object = chat ? "chat.completion" : "text_completion",
                        created,
                        model = name,
                        choices = new[] { choice },
                        usage = new { prompt_tokens = result.PromptTokens, completion_tokens = result.CompletionTokens, total_tokens = result.PromptTokens + result.CompletionTokens },
                    }).ConfigureAwait(false);
                    Log(context, name, result.CompletionTokens, watch);
                    return;
                }

                Log(context, name, state.CompletionTokens, watch);
            }
            catch (ArgumentException ex)
            {
                await ErrorAsync(context, 400, ex.Message).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
        }

        private async Task EmbedAsync(HttpContext context)
        {
            using var body = await ReadAsync(context).ConfigureAwait(false);
            if (body is null)
            {
                return;
            }

            if (RequestCheck.Embedding(body.RootElement) is { } problem)
            {
                await ErrorAsync(context, 400, problem).ConfigureAwait(false);
                return;
            }

            if (await ModelOf(context, body.RootElement).ConfigureAwait(false) is not { } model)
            {
                return;
            }

            var input = body.RootElement.GetProperty("input");
            string[] texts = input.ValueKind == JsonValueKind.String ? [input.GetString()!] : [.. input.EnumerateArray().Select(x => x.GetString()!)];

            await _gate.WaitAsync(context.RequestAborted).ConfigureAwait(false);
            try
            {
                var vectors = await Task.Run(() => texts.Select(t => Llama2Generator.Embed(model, t)).ToList(), context.RequestAborted).ConfigureAwait(false);
                var tokens = texts.Sum(t => model.Tokenizer.Encode(t).Count);
                await context.Response.WriteAsJsonAsync(new
                {
                    @object = "list",
                    data = vectors.Select((v, index) => new { @object = "embedding", index, embedding = v }),
                    model = body.RootElement.GetProperty("model").GetString(),
                    usage = new { prompt_tokens = tokens, total_tokens = tokens },
                }).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
        }

        private async Task<Llama2Model?> ModelOf(HttpContext context, JsonElement request)
        {
            var name = request.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : string.Empty;
            if (!Models.TryGetValue(name, out var precision))
            {
                await ErrorAsync(context, 404, $"The model '{name}' does not exist; this server has {string.Join(", ", Models.Keys)}").ConfigureAwait(false);
                return null;
            }

            return await Task.Run(() => ModelStore.Load(files, precision)).ConfigureAwait(false);
        }

        private bool Authorized(string header)
        {
            const string scheme = "Bearer ";
            var given = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : string.Empty;
            // Hashes of equal length, compared in constant time: the answer's timing says nothing about the token.
            return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), _tokenHash);
        }

        private static async Task<JsonDocument?> ReadAsync(HttpContext context)
        {
            try
            {
                var document = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 32 }, context.RequestAborted).ConfigureAwait(false);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    document.Dispose();
                    await ErrorAsync(context, 400, "the body must be a JSON object").ConfigureAwait(false);
                    return null;
                }

                return document;
            }
            catch (JsonException ex)
            {
                await ErrorAsync(context, 400, $"the body is not JSON: {ex.Message}").ConfigureAwait(false);
                return null;
            }
            catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                await ErrorAsync(context, 413, $"the body is larger than {MaxBodyBytes} bytes").ConfigureAwait(false);
                return null;
            }
        }

        private static string Content(JsonElement message)
        {
            if (!message.TryGetProperty("content", out var content))
            {
                return string.Empty;
            }

            // Content is a string, or a list of parts of which the text parts count.
            return content.ValueKind switch
            {
                JsonValueKind.String => content.GetString()!,
                JsonValueKind.Array => string.Concat(content.EnumerateArray()
                    .Where(p => p.TryGetProperty("type", out var t) && t.ValueEquals("text") && p.TryGetProperty("text", out _))
                    .Select(p => p.GetProperty("text").GetString())),
                _ => string.Empty,
            };
        }

        private static double? Number(JsonElement request, string key) =>
            request.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

        private static object Chunk(string id, long created, string model, bool chat, string? piece, string? finish) => chat
            ? new { id, @object = "chat.completion.chunk", created, model, choices = new[] { new { index = 0, delta = piece is null ? (object)new { } : new { role = "assistant", content = piece }, finish_reason = finish } } }
            : new { id, @object = "text_completion", created, model, choices = new[] { new { index = 0, text = piece ?? string.Empty, finish_reason = finish } } };

        private static async Task SendAsync(HttpContext context, object chunk)
        {
            await context.Response.WriteAsync($"data: {JsonSerializer.Serialize(chunk)}\n\n", context.RequestAborted).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }

        private static Task ErrorAsync(HttpContext context, int status, string message, string type = "invalid_request_error")
        {
            context.Response.StatusCode = status;
            return context.Response.WriteAsJsonAsync(new { error = new { message, type } });
        }

        private void Log(HttpContext context, string model, int tokens, Stopwatch watch) =>
            console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{context.Request.Method} {context.Request.Path} {model}: {tokens} tokens in {watch.Elapsed.TotalSeconds:0.000}s"));
    }
}
