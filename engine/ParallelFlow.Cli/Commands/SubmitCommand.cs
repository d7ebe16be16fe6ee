using System.CommandLine;
using System.Text.Json;
using ParallelFlow.Cli.Output;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Hosting;
using ParallelFlow.Server;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>parallelflow submit PLAN --server URL</c>: a run on a service, watched here as a local run is.</summary>
internal static class SubmitCommand
{
    public static Command Create(CliConsole console)
    {
        var plan = new Argument<string>("plan") { Description = "A plan the service registered (its name), or a plan file to send (JSON or YAML)." };
        var server = new Option<string>("--server") { Description = "The service: http://HOST:PORT (the bearer token, if it needs one, from $" + ServeSettings.TokenVariable + ").", Required = true };
        var wait = new Option<bool>("--wait") { Description = "Follow the run's events here until it ends, and exit with its exit code (0 succeeded, 1 a task did not, 130 cancelled)." };
        var workers = NumberOptions.Whole("--workers", "How many of the run's tasks run at once (default: the plan's).", 1, "-w");
        var strategy = new Option<string?>("--strategy") { Description = "The order ready tasks get a worker (critical_path, priority, fifo, shortest_first or a plugin's strategy of the service); replaces the plan's." };
        var inputs = new InputOptions();
        var command = new Command("submit", "Submits a run to a service (parallelflow serve), and with --wait follows it to its end.") { plan, server, wait, workers, strategy };
        inputs.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var address = parseResult.GetValue(server)!;
            if (!Uri.TryCreate(address, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
            {
                await console.Error.WriteLineAsync($"error: --server: '{address}' is not an http:// or https:// address").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            using var client = new ParallelFlowClient(baseUri, Environment.GetEnvironmentVariable(ServeSettings.TokenVariable) is { Length: > 0 } token ? token : null);
            var name = parseResult.GetRequiredValue(plan);
            try
            {
                // The plan, for its inputs' types: read here for a file, asked of the service for a name.
                PlanDefinition definition;
                string? text = null;
                var yaml = Path.GetExtension(name) is ".yaml" or ".yml";
                if (File.Exists(name))
                {
                    text = await File.ReadAllTextAsync(name, cancellationToken).ConfigureAwait(false);
                    definition = PlanLoader.Parse(text, yaml ? PlanFormat.Yaml : PlanFormat.Json, name);
                }
                else
                {
                    var plans = await client.GetPlansAsync(cancellationToken).ConfigureAwait(false);
                    if (plans.FirstOrDefault(p => p.Id == name) is not { } registered)
                    {
                        var close = DisplayText.Suggest(name, plans.Select(p => p.Id));
                        await console.Error.WriteLineAsync($"error: {name} is neither a plan file here nor a plan of {address}{(close is null ? string.Empty : $" (did you mean '{close}'?)")}; its plans: {(plans.Count == 0 ? "none" : string.Join(", ", plans.Select(p => p.Id)))}").ConfigureAwait(false);
                        return ExitCodes.InvalidInput;
                    }

                    // Its inputs are all the values need here; the service holds the plan itself.
                    definition = new PlanDefinition
                    {
                        Id = name,
                        Tasks = [],
                        Inputs = registered.Inputs.ToDictionary(
                            i => i.Key,
                            i => new PlanInput(i.Key, Enum.Parse<PlanInputType>(i.Value.Type, ignoreCase: true)) { Required = i.Value.Required, Default = i.Value.Default },
                            StringComparer.Ordinal),
                    };
                }

                if (inputs.Read(parseResult, definition, name, console) is not { } values)
                {
                    return ExitCodes.InvalidInput;
                }

                var options = new SubmitOptions(parseResult.GetValue(strategy), parseResult.GetValue(workers));
                SubmittedRun submitted;
                if (text is null)
                {
                    submitted = await client.SubmitAsync(name, values, options, cancellationToken).ConfigureAwait(false);
                }
                else if (yaml)
                {
                    submitted = await client.SubmitYamlAsync(text, values, options, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    using var document = JsonDocument.Parse(text);
                    submitted = await client.SubmitPlanAsync(document.RootElement, values, options, cancellationToken).ConfigureAwait(false);
                }

                var runId = submitted.RunId;
                var service = address.TrimEnd('/');
                await console.Out.WriteLineAsync($"submitted run {runId} to {address}").ConfigureAwait(false);
                if (!parseResult.GetValue(wait))
                {
                    await console.Out.WriteLineAsync($"watch it at {service}/#/runs/{runId}, or follow its events: curl -N {service}/runs/{runId}/events").ConfigureAwait(false);
                    return ExitCodes.Success;
                }

                await new PlainView(console).ShowAsync(Events(client.WatchAsync(runId, 0, cancellationToken))).ConfigureAwait(false);
                var report = await client.GetReportAsync(runId, cancellationToken).ConfigureAwait(false);
                var status = report.GetProperty("status").GetString();
                var summary = report.TryGetProperty("execution_summary", out var s) ? s : default;
                await console.Out.WriteLineAsync(summary.ValueKind == JsonValueKind.Object
                    ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Run {runId} {status} in {summary.GetProperty("execution_time").GetDouble():0.00}s on {summary.GetProperty("workers_used").GetInt32()} workers (speedup {summary.GetProperty("speedup_factor").GetDouble():0.00}x)")
                    : $"Run {runId} {status}").ConfigureAwait(false);
                await console.Out.WriteLineAsync($"its report: {service}/runs/{runId}; a task's output: {service}/runs/{runId}/tasks/TASK; the dashboard: {service}/#/runs/{runId}").ConfigureAwait(false);
                return status switch
                {
                    "succeeded" => ExitCodes.Success,
                    "cancelled" => ExitCodes.Cancelled,
                    _ => ExitCodes.TasksFailed,
                };
            }
            catch (ParallelFlowServiceException ex)
            {
                // The service's problem document: what is wrong, as the command line says it.
                var hint = ex.Status == System.Net.HttpStatusCode.Unauthorized
                    ? (Environment.GetEnvironmentVariable(ServeSettings.TokenVariable) is { Length: > 0 } ? $" (the token in ${ServeSettings.TokenVariable} is not the service's)" : $" (set ${ServeSettings.TokenVariable} to the service's token)")
                    : string.Empty;
                await console.Error.WriteLineAsync($"error: {address} refused the run ({(int)ex.Status}): {ex.Message}{hint}").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
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
    private static async IAsyncEnumerable<RunEvent> Events(IAsyncEnumerable<ServiceEvent> events)
    {
        await foreach (var e in events.ConfigureAwait(false))
        {
            yield return e.Event;
        }
    }
}
