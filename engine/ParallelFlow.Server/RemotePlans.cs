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

    private readonly ParallelFlowEngine _full;

    public RemotePlans(ParallelFlowEngine engine, ServeSettings settings, ILoggerFactory loggerFactory)
    {
        _full = engine;
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

    /// <summary>Keeps a plan's text (JSON, or YAML when <paramref name="yaml"/>) as a file of its own and loads it from
    /// there, refusing it when it names a worker off the list: as a task's worker, or anywhere in a task's settings (a
    /// vote's candidates, a section's worker), or by a stage default a request leaves unsaid.</summary>
    /// <exception cref="RunRefusedException">The plan names a worker off the list.</exception>
    /// <exception cref="PlanValidationException">The plan has errors.</exception>
    public PlanDefinition Load(string text, string name, bool yaml = false)
    {
        var refused = new SortedSet<string>(StringComparer.Ordinal);
        if (!yaml)
        {
            // Before anything is kept or read: a plan that names such a worker is refused even when it has errors too.
            try
            {
                using var document = JsonDocument.Parse(text);
                Walk(document.RootElement, refused);
            }
            catch (JsonException)
            {
                // The plan's reader says what is wrong with it, with the line and column.
            }

            Refuse(refused, null);
        }

        Directory.CreateDirectory(Folder);
        var path = PathOf(name, yaml);
        File.WriteAllText(path, text);
        // Read with every worker the service has, so that a worker off the list is named as such rather than unknown.
        var definition = _full.LoadPlan(path);
        foreach (var task in definition.Tasks)
        {
            if (_loaded.Contains(task.Worker) && !Allowed.Contains(task.Worker))
            {
                refused.Add(task.Worker);
            }

            Walk(task.With, refused);
        }

        Refuse(refused, path);
        return definition;
    }

    /// <summary>Where a plan sent under <paramref name="name"/> is kept.</summary>
    public string PathOf(string name, bool yaml) => Path.Combine(Folder, $"{name}{(yaml ? ".yaml" : ".json")}");

    private void Refuse(SortedSet<string> refused, string? kept)
    {
        if (refused.Count == 0)
        {
            return;
        }

        if (kept is not null)
        {
            File.Delete(kept);
        }

        throw new RunRefusedException(403,
            $"plans sent by clients may not use worker{(refused.Count == 1 ? "" : "s")} {string.Join(", ", refused.Select(w => $"'{w}'"))}; this service allows {string.Join(", ", Allowed.Order(StringComparer.Ordinal))} (register the plan with --plans, or allow the worker with --allow-worker)");
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
