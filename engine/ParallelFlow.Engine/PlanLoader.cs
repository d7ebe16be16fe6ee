using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Replay;
using ParallelFlow.Engine.Requests;
using ParallelFlow.Engine.Workers;

namespace ParallelFlow.Engine;

/// <summary>Reads plan and config files. Every problem in a file is reported at once, in one
/// <see cref="PlanValidationException"/>, each with its file, line, column and task.</summary>
public static class PlanLoader
{
    /// <summary>Loads and validates a plan file (<c>.json</c>, <c>.yaml</c> or <c>.yml</c>).</summary>
    /// <param name="path">The plan file.</param>
    /// <param name="catalog">When given, task workers and their parameters are checked against it too.</param>
    /// <param name="configPath">A config.json whose sections replace the plan's own.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="PlanValidationException">The plan (or config) has errors, or a file cannot be read.</exception>
    public static PlanDefinition LoadFile(string path, WorkerCatalog? catalog = null, string? configPath = null)
    {
        var format = PlanFormatOf(path);
        var root = Read(ReadFile(path), format, path);
        var (plan, errors) = format == PlanFormat.Json && WorkflowTraceBinder.IsWorkflow(root)
            ? WorkflowTraceBinder.BindWorkflow(root, path, WorkflowTraceBinder.DefaultTimeScale)
            : Bind(root, path, catalog);
        var allErrors = new List<PlanError>(errors);
        if (configPath is not null)
        {
            var (config, configErrors) = PlanBinder.BindConfig(Read(ReadFile(configPath), PlanFormatOf(configPath), configPath), configPath);
            allErrors.AddRange(configErrors.Where(e => !e.IsWarning));
            // A config with errors is reported against its own file, not applied and reported again against the plan.
            if (!configErrors.Any(e => !e.IsWarning))
            {
                plan = config.ApplyTo(plan, configErrors.Where(e => e.IsWarning));
            }
        }

        return Finish(plan, allErrors, catalog);
    }

    /// <summary>
    /// Loads a WfCommons workflow trace (WfFormat JSON) as a plan of <c>simulate</c> tasks: each sleeps its recorded
    /// <c>runtimeInSeconds</c> times <paramref name="timeScale"/> (0.001 by default: a recorded second takes a
    /// millisecond), depending on its parents.
    /// </summary>
    /// <param name="path">The trace.</param>
    /// <param name="timeScale">Replay seconds per recorded second.</param>
    /// <param name="catalog">When given, the plan is checked against it.</param>
    /// <param name="mode">Whether a replayed task waits on the clock (latency-bound) or keeps a core busy (CPU-bound).</param>
    /// <returns>The plan.</returns>
    /// <exception cref="PlanValidationException">The file is not a WfFormat workflow, or a task has no runtime.</exception>
    public static PlanDefinition LoadWorkflow(string path, double timeScale = WorkflowTraceBinder.DefaultTimeScale, WorkerCatalog? catalog = null, ReplayMode mode = ReplayMode.Sleep)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(timeScale);
        var root = Read(ReadFile(path), PlanFormat.Json, path);
        if (!WorkflowTraceBinder.IsWorkflow(root))
        {
            throw new PlanValidationException([new PlanError(PlanError.MissingCode, "not a WfFormat workflow: it has no workflow.specification", path, root.Position, null)]);
        }

        var (plan, errors) = WorkflowTraceBinder.BindWorkflow(root, path, timeScale, mode);
        return Finish(plan, [.. errors], catalog);
    }

    /// <summary>Parses and validates plan text.</summary>
    /// <param name="text">The plan.</param>
    /// <param name="format">The text's format.</param>
    /// <param name="sourceName">A name for the text in error messages.</param>
    /// <param name="catalog">When given, task workers and their parameters are checked against it too.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="PlanValidationException">The plan has errors.</exception>
    public static PlanDefinition Parse(string text, PlanFormat format, string sourceName = "plan", WorkerCatalog? catalog = null)
    {
        var (plan, errors) = Bind(Read(text, format, sourceName), sourceName, catalog);
        return Finish(plan, [.. errors], catalog);
    }

    /// <summary>Reads a config.json (parallelism, timeouts, retry, resources).</summary>
    /// <param name="path">The file.</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="PlanValidationException">The file has errors or cannot be read.</exception>
    public static ExecutorConfig LoadConfig(string path)
    {
        var (config, errors) = PlanBinder.BindConfig(Read(ReadFile(path), PlanFormatOf(path), path), path);
        return errors.Any(e => !e.IsWarning) ? throw new PlanValidationException(errors) : config;
    }

    /// <summary>The format a file's extension implies: YAML for <c>.yaml</c>/<c>.yml</c>, else JSON.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The format.</returns>
    public static PlanFormat PlanFormatOf(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".yaml" or ".yml" ? PlanFormat.Yaml : PlanFormat.Json;

    private static PlanDefinition Finish(PlanDefinition plan, List<PlanError> errors, WorkerCatalog? catalog)
    {
        if (catalog is not null)
        {
            errors.AddRange(PlanWorkerCheck.Validate(plan, catalog));
        }

        return PlanValidator.Finish(plan, errors, catalog);
    }

    /// <summary>Binds a plan, or a request (which says its <c>mode</c>) as a plan of one task, with the catalog's
    /// defaults for what a request leaves unsaid.</summary>
    private static (PlanDefinition Plan, IReadOnlyList<PlanError> Errors) Bind(PlanNode root, string source, WorkerCatalog? catalog) =>
        RequestBinder.IsRequest(root)
            ? RequestBinder.Bind(root, source, catalog?.StageDefaults ?? StageDefaults.Default)
            : PlanBinder.BindPlan(root, source);

    private static PlanNode Read(string text, PlanFormat format, string source) =>
        format == PlanFormat.Yaml ? YamlPlanReader.Read(text, source) : JsonPlanReader.Read(text, source);

    private static string ReadFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var reason = ex is FileNotFoundException or DirectoryNotFoundException ? "file not found"
                : Directory.Exists(path) ? "it is a folder, not a file"
                : ex.Message;
            throw new PlanValidationException([new PlanError(PlanError.SyntaxCode, $"cannot read the file: {reason}", path, null, null)]);
        }
    }
}
