using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Server;
using ParallelFlow.Hosting;

namespace ParallelFlow.Server;

/// <summary>How <c>parallelflow serve</c> is started.</summary>
internal sealed record ServeSettings
{
    /// <summary>The default address: this machine only.</summary>
    public const string DefaultUrls = "http://127.0.0.1:8088";

    /// <summary>The environment variable that holds the bearer token.</summary>
    public const string TokenVariable = "PARALLELFLOW_TOKEN";

    public string Urls { get; init; } = DefaultUrls;

    /// <summary>A folder whose plan files (<c>.json</c>, <c>.yaml</c>, <c>.yml</c>) are the plans clients run, by file name.</summary>
    public string? PlansFolder { get; init; }

    public string? Plugins { get; init; }

    public string? Journal { get; init; }

    public int? Workers { get; init; }

    /// <summary>How many runs may be under way at once; more wait in a queue. Null: no limit.</summary>
    public int? MaxActiveRuns { get; init; }

    /// <summary>How many runs may wait; a run beyond that is refused with 429 and Retry-After. Null: the host's default (1,000).</summary>
    public int? MaxQueuedRuns { get; init; }

    /// <summary>How many finished runs keep their events here (for <c>/runs/ID/events</c> and the dashboard); older ones
    /// are read from the journal's reports.</summary>
    public int KeepFinishedRuns { get; init; } = 500;

    /// <summary>The bearer token every request but <c>/health</c> must carry; none on a loopback address unless set.</summary>
    public string? Token { get; init; }

    /// <summary>The largest request body, in bytes.</summary>
    public long MaxRequestBytes { get; init; } = 1 << 20;

    /// <summary>The workers plans sent over HTTP may use; null for every worker the service loaded but <c>process</c>.</summary>
    public IReadOnlyList<string>? AllowedWorkers { get; init; }

    /// <summary>Where plans sent over HTTP are kept, one file per run, so that their runs are journaled and resumable.</summary>
    public string SubmittedFolder { get; init; } = Path.Combine(Environment.CurrentDirectory, ".parallelflow", "submitted");
}

/// <summary>Builds the service: the engine of <c>AddParallelFlow</c> with the registered plans, the API, the token check.</summary>
internal static class ParallelFlowServer
{
    /// <summary>Whether every address of <paramref name="urls"/> is this machine's loopback.</summary>
    public static bool IsLoopback(string urls) => urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).All(url =>
        Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
        && (uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address))));

    /// <summary>A new random token, for a service on a public address started without one.</summary>
    public static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_').TrimEnd('=');

    public static WebApplication Build(ServeSettings settings, Action<ILoggingBuilder>? logging = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(settings.Urls);
        builder.WebHost.ConfigureKestrel(o => o.Limits.MaxRequestBodySize = settings.MaxRequestBytes);
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        AddCore(builder.Services, builder.Configuration, settings);
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower);
        builder.Services.AddMcpServer(Describe).WithHttpTransport().WithTools<McpTools>();

        if (settings.Token is null)
        {
            // Without a token, only this machine's names: a page whose name resolves here (DNS rebinding) is refused.
            builder.Services.Configure<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>(o => o.AllowedHosts = ["localhost", "127.0.0.1", "[::1]"]);
        }

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        if (settings.Token is null)
        {
            app.UseHostFiltering();
        }

        app.Use(SameOrigin);
        if (settings.Token is { } token)
        {
            app.Use(RequireToken(token));
        }

        app.MapHealthChecks("/health");
        app.MapOpenApi();
        app.MapParallelFlowApi();
        app.MapDashboard();
        app.MapMcp("/mcp");
        return app;
    }

    /// <summary>Builds <c>parallelflow mcp</c>: the same engine, plans, allow-list and journal as the service, as MCP
    /// tools over stdin and stdout (so every log line goes to stderr).</summary>
    public static IHost BuildStdio(ServeSettings settings, Action<ILoggingBuilder>? logging = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        AddCore(builder.Services, builder.Configuration, settings);
        builder.Services.AddMcpServer(Describe).WithStdioServerTransport().WithTools<McpTools>();
        return builder.Build();
    }

    private static void Describe(McpServerOptions options)
    {
        options.ServerInfo = new() { Name = "parallelflow", Version = typeof(ParallelFlowServer).Assembly.GetName().Version?.ToString(3) ?? "0.0.0" };
        options.ServerInstructions = "ParallelFlow runs a graph of tasks in parallel. run_plan runs a registered plan (list_plans) or a plan you give; "
            + "run_request runs a sectioning or voting request. Follow a run with get_run, read a task's whole output with get_task, stop it with cancel_run.";
    }

    /// <summary>What the service and the MCP tools share: the engine of <c>AddParallelFlow</c> with the registered plans
    /// and the journal, the runs, the allow-list for plans sent by clients, the launcher.</summary>
    private static void AddCore(IServiceCollection services, IConfigurationManager configuration, ServeSettings settings)
    {
        var values = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ParallelFlow:Plugins"] = settings.Plugins,
            ["ParallelFlow:Journal"] = settings.Journal,
        };
        if (settings.Workers is { } workers)
        {
            values["ParallelFlow:Workers"] = workers.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (settings.MaxActiveRuns is { } active)
        {
            values["ParallelFlow:MaxActiveRuns"] = active.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (settings.MaxQueuedRuns is { } queued)
        {
            values["ParallelFlow:MaxQueuedRuns"] = queued.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        foreach (var (name, path) in Plans(settings.PlansFolder))
        {
            values[$"ParallelFlow:Plans:{name}"] = path;
        }

        configuration.AddInMemoryCollection(values.Where(v => v.Value is not null));
        services.AddParallelFlow(configuration);
        services.AddSingleton<RunHub>();
        services.AddSingleton(settings);
        services.AddSingleton<RemotePlans>();
        services.AddSingleton<RunLauncher>();
    }

    /// <summary>The plan files of a folder, by name (the file name without its extension).</summary>
    public static IEnumerable<(string Name, string Path)> Plans(string? folder) => folder is null
        ? []
        : Directory.EnumerateFiles(folder)
            .Where(f => Path.GetExtension(f) is ".json" or ".yaml" or ".yml")
            .Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileNameWithoutExtension(f), Path.GetFullPath(f)));

    /// <summary>Refuses a request a browser sends from another site's page to change something (start, cancel or
    /// resume a run, call a tool): its <c>Origin</c> is not this service's. Clients that are not browsers send none.</summary>
    private static Task SameOrigin(HttpContext context, RequestDelegate next)
    {
        var origin = context.Request.Headers.Origin.FirstOrDefault();
        var changes = !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method) && !HttpMethods.IsOptions(context.Request.Method);
        if (origin is null || !(changes || context.Request.Path.StartsWithSegments("/mcp", StringComparison.Ordinal))
            || (Uri.TryCreate(origin, UriKind.Absolute, out var from) && string.Equals(from.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase)))
        {
            return next(context);
        }

        return Results.Problem(detail: $"a page of {origin} may not send requests to this service", statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(context);
    }

    /// <summary>Refuses a request without the token (compared in constant time); <c>/health</c> stays open for probes,
    /// and the dashboard's files, which hold no data, for a browser to load the page that asks for it.</summary>
    private static Func<HttpContext, RequestDelegate, Task> RequireToken(string token)
    {
        var expected = Encoding.UTF8.GetBytes(token);
        return (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal) || Dashboard.IsFile(context.Request.Path))
            {
                return next(context);
            }

            var header = context.Request.Headers.Authorization.FirstOrDefault();
            var given = header is not null && header.StartsWith("Bearer ", StringComparison.Ordinal) ? Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()) : [];
            if (CryptographicOperations.FixedTimeEquals(given, expected))
            {
                return next(context);
            }

            context.Response.Headers.WWWAuthenticate = "Bearer";
            return Results.Problem(
                detail: header is null
                    ? "this service needs its bearer token: send Authorization: Bearer TOKEN"
                    : "the bearer token does not match this service's (it is the one in the service's $" + ServeSettings.TokenVariable + ", or the one it printed at start)",
                statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(context);
        };
    }
}
