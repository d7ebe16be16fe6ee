using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ParallelFlow.Server;

/// <summary>The dashboard at <c>/</c>: a page, a script and a style sheet built into the service (nothing from a CDN), which
/// read the API like any client. They hold no run data, so they are served without the token; the page asks for it.</summary>
internal static class Dashboard
{
    // Only this service's own files run on the page, and it talks to nothing else.
    private const string Policy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly (string Path, string Resource, string MediaType)[] Files =
    [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/dashboard/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"),
        ("/dashboard/dashboard.css", "dashboard.css", "text/css; charset=utf-8"),
    ];

    /// <summary>Whether a request is for one of the dashboard's files.</summary>
    public static bool IsFile(PathString path) => Array.Exists(Files, f => path.Equals(f.Path, StringComparison.Ordinal));

    public static void MapDashboard(this IEndpointRouteBuilder app)
    {
        foreach (var (path, resource, mediaType) in Files)
        {
            var bytes = Load(resource);
            app.MapGet(path, (HttpContext context) =>
            {
                context.Response.Headers.ContentSecurityPolicy = Policy;
                context.Response.Headers.XContentTypeOptions = "nosniff";
                context.Response.Headers.CacheControl = "no-cache";
                return Results.Bytes(bytes, mediaType);
            }).ExcludeFromDescription();
        }
    }

    private static byte[] Load(string name)
    {
        using var stream = typeof(Dashboard).Assembly.GetManifestResourceStream("ParallelFlow.Server.Dashboard." + name)
            ?? throw new InvalidOperationException($"the dashboard's {name} is missing from the service's assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
