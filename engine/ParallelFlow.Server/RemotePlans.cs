using System.Text.Json;
using Microsoft.Extensions.Logging;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Server;

/// <summary>
/// Plans sent over HTTP: they may use only the workers of the service's allow-list (by default every worker it loaded
/// but <c>process</c>, so that a plan cannot get a shell on the server). They are compiled by an engine of their own
/// whose catalog holds only those workers, so a vote's candidates and a section's workers are held to the list too;
/// each is kept as a file, so that its run is journaled with the plan's hash like any other.
/// </summary>
internal sealed class RemotePlans
{
    /// <summary>The worker off the list unless a service names it.</summary>
    public const string Process = "process";

    private readonly HashSet<string> _loaded;

    public RemotePlans(ParallelFlowEngine engine, ServeSettings settings, ILoggerFactory loggerFactory)
    {
        _loaded = [.. engine.Catalog.WorkerNames];
        Allowed = settings.AllowedWorkers is { } named
            ? [.. named.Where(_loaded.Contains)]
            : [.. _loaded.Where(name => name != Process)];
        Folder = settings.SubmittedFolder;
        Engine = new ParallelFlowEngine(new EngineOptions { Catalog = BuiltInWorkers.Restricted(engine.Catalog, Allowed), LoggerFactory = loggerFactory });
    }

    /// <summary>The workers remote plans may use.</summary>
    public HashSet<string> Allowed { get; }

    /// <summary>Where the plans are kept.</summary>
    public string Folder { get; }

    /// <summary>The engine that compiles and runs them.</summary>
    public ParallelFlowEngine Engine { get; }

    /// <summary>The workers the service has that a plan names (as a task's <c>worker</c>, or any <c>worker</c> inside its
    /// settings: a vote's candidates, a section's) but may not use.</summary>
    public List<string> Refused(JsonElement plan)
    {
        var refused = new SortedSet<string>(StringComparer.Ordinal);
        Walk(plan, refused);
        return [.. refused];
    }

    /// <summary>Keeps a plan's text as a file of its own and loads it from there.</summary>
    public PlanDefinition Load(string text, string name)
    {
        Directory.CreateDirectory(Folder);
        var path = Path.Combine(Folder, $"{name}.json");
        File.WriteAllText(path, text);
        return Engine.LoadPlan(path);
    }

    private void Walk(JsonElement element, SortedSet<string> refused)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name is "worker" && property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() is { } worker
                        && _loaded.Contains(worker) && !Allowed.Contains(worker))
                    {
                        refused.Add(worker);
                    }

                    Walk(property.Value, refused);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item, refused);
                }

                break;
        }
    }
}
