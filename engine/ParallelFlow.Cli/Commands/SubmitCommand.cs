using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using ParallelFlow.Cli.Output;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Server;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>parallelflow submit PLAN --server URL</c>: a run on a service, watched here as a local run is.</summary>
internal static class SubmitCommand
{
    public static Command Create(CliConsole console)
    {
        var plan = new Argument<string>("plan") { Description = "A plan the service registered (its name), or a JSON plan file to send." };
        var server = new Option<string>("--server") { Description = "The service: http://HOST:PORT (the bearer token, if it needs one, from $" + ServeSettings.TokenVariable + ").", Required = true };
        var wait = new Option<bool>("--wait") { Description = "Follow the run's events here until it ends, and exit with its exit code (0 succeeded, 1 a task did not, 130 cancelled)." };
        var inputs = new InputOptions();
        var command = new Command("submit", "Submits a run to a service (parallelflow serve), and with --wait follows it to its end.") { plan, server, wait };
        inputs.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var address = parseResult.GetValue(server)!;
            if (!Uri.TryCreate(address, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
            {
                await console.Error.WriteLineAsync($"error: --server: '{address}' is not an http:// or https:// address").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            using var http = new HttpClient { BaseAddress = baseUri, Timeout = Timeout.InfiniteTimeSpan };
            if (Environment.GetEnvironmentVariable(ServeSettings.TokenVariable) is { Length: > 0 } token)
            {
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            var name = parseResult.GetRequiredValue(plan);
            try
            {
                // The plan, for its inputs' types: read here for a file, asked of the service for a name.
                JsonElement planValue;
                PlanDefinition definition;
                if (File.Exists(name))
                {
                    if (Path.GetExtension(name) is ".yaml" or ".yml")
                    {
                        await console.Error.WriteLineAsync($"error: {name}: submit sends JSON plans; register a YAML plan with serve --plans and submit it by name").ConfigureAwait(false);
                        return ExitCodes.InvalidInput;
                    }

                    var text = await File.ReadAllTextAsync(name, cancellationToken).ConfigureAwait(false);
                    definition = PlanLoader.Parse(text, PlanFormat.Json, name);
                    using var document = JsonDocument.Parse(text);
                    planValue = document.RootElement.Clone();
                }
                else
                {
                    var plans = await http.GetFromJsonAsync<JsonElement>("/plans", cancellationToken).ConfigureAwait(false);
                    if (plans.EnumerateArray().FirstOrDefault(p => p.GetProperty("id").GetString() == name) is not { ValueKind: JsonValueKind.Object } registered)
                    {
                        var names = plans.EnumerateArray().Select(p => p.GetProperty("id").GetString()!).ToList();
                        await console.Error.WriteLineAsync($"error: {name} is neither a plan file here nor a plan of {address} (its plans: {(names.Count == 0 ? "none" : string.Join(", ", names))})").ConfigureAwait(false);
                        return ExitCodes.InvalidInput;
                    }

                    // Its inputs are all the values need here; the service holds the plan itself.
                    definition = new PlanDefinition
                    {
                        Id = name,
                        Tasks = [],
                        Inputs = registered.GetProperty("inputs").EnumerateObject().ToDictionary(
                            i => i.Name,
                            i => new PlanInput(i.Name, Enum.Parse<PlanInputType>(i.Value.GetProperty("type").GetString()!, ignoreCase: true))
                            {
                                Required = i.Value.GetProperty("required").GetBoolean(),
                                Default = i.Value.TryGetProperty("default", out var value) && value.ValueKind != JsonValueKind.Null ? value.Clone() : null,
                            },
                            StringComparer.Ordinal),
                    };
                    planValue = JsonSerializer.SerializeToElement(name);
                }

                if (inputs.Read(parseResult, definition, name, console) is not { } values)
                {
                    return ExitCodes.InvalidInput;
                }

                using var submitted = await http.PostAsJsonAsync("/runs", new { plan = planValue, inputs = values }, cancellationToken).ConfigureAwait(false);
                var body = await submitted.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false);
                if (!submitted.IsSuccessStatusCode)
                {
                    // The service's problem document: what is wrong, as the command line says it.
                    var detail = body.TryGetProperty("detail", out var d) ? d.GetString() : submitted.ReasonPhrase;
                    await console.Error.WriteLineAsync($"error: {address} refused the run ({(int)submitted.StatusCode}): {detail}").ConfigureAwait(false);
                    return ExitCodes.InvalidInput;
                }

                var runId = body.GetProperty("run_id").GetString()!;
                await console.Out.WriteLineAsync($"submitted run {runId} to {address}").ConfigureAwait(false);
                if (!parseResult.GetValue(wait))
                {
                    await console.Out.WriteLineAsync($"follow it with: parallelflow submit … --wait, or GET {address.TrimEnd('/')}/runs/{runId}/events").ConfigureAwait(false);
                    return ExitCodes.Success;
                }

                await new PlainView(console).ShowAsync(EventsAsync(http, runId, cancellationToken)).ConfigureAwait(false);
                var report = await http.GetFromJsonAsync<JsonElement>($"/runs/{runId}", cancellationToken).ConfigureAwait(false);
                var status = report.GetProperty("status").GetString();
                await console.Out.WriteLineAsync($"Run {runId} {status}").ConfigureAwait(false);
                return status switch
                {
                    "succeeded" => ExitCodes.Success,
                    "cancelled" => ExitCodes.Cancelled,
                    _ => ExitCodes.TasksFailed,
                };
            }
            catch (HttpRequestException ex)
            {
                await console.Error.WriteLineAsync($"error: --server {address}: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }
            catch (PlanValidationException ex)
            {
                foreach (var error in ex.Errors.Where(e => !e.IsWarning))
                {
                    await console.Error.WriteLineAsync(error.ToString()).ConfigureAwait(false);
                }

                return ExitCodes.InvalidInput;
            }
        });
        return command;
    }

    /// <summary>The run's events from the service's stream, as the local views take them.</summary>
    private static async IAsyncEnumerable<RunEvent> EventsAsync(HttpClient http, string runId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"/runs/{runId}/events", HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
        string? name = null;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && name is not null && name != "end")
            {
                using var data = JsonDocument.Parse(line[6..]);
                yield return ToEvent(data.RootElement);
            }
        }
    }

    private static RunEvent ToEvent(JsonElement e)
    {
        static string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString() : null;
        static int Number(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetInt32() : 0;
        static T Parse<T>(string snake) where T : struct, Enum => Enum.Parse<T>(snake.Replace("_", string.Empty, StringComparison.Ordinal), ignoreCase: true);
        return new RunEvent(
            Parse<RunEventKind>(Text(e, "kind")!),
            e.GetProperty("time").GetDateTimeOffset(),
            Text(e, "task"),
            Text(e, "worker_type"),
            Number(e, "worker"),
            Number(e, "attempt"),
            Text(e, "status") is { } status ? Parse<TaskRunStatus>(status) : null,
            Text(e, "message"),
            e.TryGetProperty("delay_seconds", out var delay) ? TimeSpan.FromSeconds(delay.GetDouble()) : null);
    }
}
