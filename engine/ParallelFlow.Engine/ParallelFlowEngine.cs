using Microsoft.Extensions.Logging.Abstractions;
using ParallelFlow.Engine.Analysis;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Replay;
using ParallelFlow.Engine.Workers;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine;

/// <summary>
/// Loads, validates, compiles and runs plans. One engine can serve a whole host: it holds only the worker catalog,
/// the clock and logging, and every compiled plan and run is independent of the others.
/// </summary>
/// <example>
/// <code>
/// var engine = new ParallelFlowEngine();
/// var plan = engine.LoadPlan("examples/release-check.json");
/// var compiled = engine.Compile(plan);
/// RunResult result = await compiled.RunAsync(new RunOptions { Workers = 4 }, cancellationToken);
/// </code>
/// </example>
public sealed class ParallelFlowEngine
{
    private readonly EngineContext _context;

    /// <summary>Creates an engine.</summary>
    /// <param name="options">The catalog, clock and logging; defaults for anything not given.</param>
    public ParallelFlowEngine(EngineOptions? options = null)
    {
        var timeProvider = options?.TimeProvider ?? TimeProvider.System;
        Catalog = options?.Catalog ?? BuiltInWorkers.CreateCatalog(timeProvider);
        var grace = options?.CancellationGracePeriod ?? CancellationGrace.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(grace, TimeSpan.Zero, nameof(options));
        Catalog.CancellationGracePeriod = grace;
        _context = new EngineContext(timeProvider,
            Diagnostics.RedactingLoggerFactory.Wrap(options?.LoggerFactory ?? NullLoggerFactory.Instance, Catalog.Secrets), grace, Catalog.Secrets);
    }

    /// <summary>The workers, scorers and mergers this engine's plans may use.</summary>
    public WorkerCatalog Catalog { get; }

    /// <summary>Loads and validates a plan file against this engine's workers.</summary>
    /// <param name="path">A <c>.json</c>, <c>.yaml</c> or <c>.yml</c> plan.</param>
    /// <param name="configPath">A config.json whose sections replace the plan's own.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="PlanValidationException">The plan has errors; all of them are listed.</exception>
    public PlanDefinition LoadPlan(string path, string? configPath = null) => PlanLoader.LoadFile(path, Catalog, configPath);

    /// <summary>Loads a WfCommons workflow trace as a plan of <c>simulate</c> tasks, its runtimes times <paramref name="timeScale"/>.</summary>
    /// <param name="path">The WfFormat JSON file.</param>
    /// <param name="timeScale">Seconds of replay per recorded second (0.001: a recorded second takes a millisecond).</param>
    /// <param name="mode">Whether replayed tasks sleep (latency-bound) or keep a core busy (CPU-bound).</param>
    /// <returns>The plan.</returns>
    /// <exception cref="PlanValidationException">The file is not a workflow, or a task has no runtime.</exception>
    public PlanDefinition LoadWorkflow(string path, double timeScale = 0.001, ReplayMode mode = ReplayMode.Sleep) => PlanLoader.LoadWorkflow(path, timeScale, Catalog, mode);

    private double? WorkerEstimate(TaskDefinition task)
    {
        var worker = task.InlineWorker ?? (Catalog.TryGetWorker(task.Worker, out var found) ? found : null);
        try
        {
            return worker?.Estimate(task.With)?.Seconds;
        }
#pragma warning disable CA1031 // A worker that cannot estimate gives no estimate.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    /// <summary>Validates a plan against this engine's workers and compiles it for running.</summary>
    /// <param name="plan">The plan.</param>
    /// <returns>The compiled plan, which can run any number of times, also concurrently.</returns>
    /// <exception cref="PlanValidationException">The plan has errors; all of them are listed.</exception>
    public CompiledPlan Compile(PlanDefinition plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Catalog.Freeze();
        // A plan from LoadPlan or PlanBuilder was checked when it was made; check only what was not.
        var errors = PlanValidator.InFileOrder((plan.StructureValidated ? [] : PlanValidator.Validate(plan))
            .Concat(plan.WorkersValidatedBy == Catalog ? [] : PlanWorkerCheck.Validate(plan, Catalog))
            .Where(e => !e.IsWarning));
        if (errors.Count > 0)
        {
            throw new PlanValidationException(errors);
        }

        var tasks = plan.Tasks;
        var graph = plan.Graph;
        // A task's own learned duration comes first (WithHistory); a task without estimate_seconds takes its worker's
        // estimate, when the worker offers one, before the median of its worker type's learned durations.
        var estimates = tasks.Select(t => t.Learned is { FromWorkerType: false } learned ? learned.Seconds : t.EstimateSeconds ?? WorkerEstimate(t) ?? t.Estimate).ToArray();
        var (analysis, bottomLevel, level, order) = PlanAnalyzer.Analyze(tasks, graph, estimates);

        var workers = new ParallelFlowWorker[tasks.Count];
        var group = new int[tasks.Count];
        var groupIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var policies = new TaskPolicy?[tasks.Count];
        var policyCache = new Dictionary<(RetrySettings, double?), TaskPolicy?>();
        for (var i = 0; i < tasks.Count; i++)
        {
            var task = tasks[i];
            workers[i] = task.InlineWorker ?? (Catalog.TryGetWorker(task.Worker, out var worker) ? worker : throw new InvalidOperationException($"Worker '{task.Worker}' vanished from the catalog."));
            if (!groupIndex.TryGetValue(task.Worker, out group[i]))
            {
                group[i] = groupIndex.Count;
                groupIndex.Add(task.Worker, group[i]);
            }

            var retry = task.Retry ?? plan.Retry;
            var timeout = task.TimeoutSeconds ?? plan.Timeouts.DefaultTaskSeconds;
            if (!policyCache.TryGetValue((retry, timeout), out policies[i]))
            {
                policies[i] = TaskPolicy.Create(retry, timeout is { } t ? TimeSpan.FromSeconds(t) : null, _context.TimeProvider);
                policyCache.Add((retry, timeout), policies[i]);
            }
        }

        // Parameters are bound once, here, for the workers that bind them (ParallelFlowWorker<TParameters>).
        // A task that uses the plan's inputs is bound per run, with the run's values (RunInputs).
        object?[]? bound = null;
        var usesInputs = new bool[tasks.Count];
        var inputNames = plan.Inputs.Count == 0 ? null : new string[tasks.Count][];
        for (var i = 0; i < tasks.Count; i++)
        {
            if (inputNames is not null)
            {
                inputNames[i] = [.. PlanInputs.References(tasks[i].With, string.Empty).Select(r => r.Name).Distinct(StringComparer.Ordinal)];
            }

            if (inputNames?[i].Length > 0 && workers[i] is not TemplateWorker)
            {
                usesInputs[i] = true;
            }
            else if (workers[i].BindParameters(tasks[i].With) is { } parameters)
            {
                (bound ??= new object?[tasks.Count])[i] = parameters;
            }
        }

        var groupNames = groupIndex.OrderBy(p => p.Value).Select(p => p.Key).ToArray();
        var groupLimits = groupNames.Select(n => plan.Limits.TryGetValue(n, out var limit) ? limit : int.MaxValue).ToArray();
        var rank = ReadyQueues.RankTasks(tasks, bottomLevel);
        return new CompiledPlan(plan, graph, workers, group, groupNames, groupLimits, rank, policies, analysis, level, order, _context,
            estimates, bottomLevel, Catalog, bound, usesInputs, inputNames);
    }

    /// <summary>Compiles and runs a plan once.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="options">The run's settings.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>The run's result.</returns>
    /// <exception cref="PlanValidationException">The plan has errors.</exception>
    public Task<RunResult> RunAsync(PlanDefinition plan, RunOptions? options = null, CancellationToken cancellationToken = default) =>
        Compile(plan).RunAsync(options, cancellationToken);

    /// <summary>Analyses a plan's shape without compiling it for running.</summary>
    /// <param name="plan">A valid plan.</param>
    /// <returns>Its waves, critical path and bounds.</returns>
    public static PlanAnalysis Analyze(PlanDefinition plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return PlanAnalyzer.Analyze(plan.Tasks, plan.Graph).Analysis;
    }

    /// <summary>
    /// The makespan an ideal scheduler would reach: a list-scheduling simulation of the plan in which every task takes
    /// exactly its estimate, free workers take ready tasks in the strategy's order, and scheduling costs nothing. A
    /// run's makespan over this is what the machine and the engine add; this over the lower bound is what the order
    /// itself costs on this graph.
    /// </summary>
    /// <param name="plan">A valid plan.</param>
    /// <param name="workers">How many tasks may run at once.</param>
    /// <param name="strategy">A built-in strategy (<see cref="SchedulingStrategies"/>).</param>
    /// <returns>The simulated makespan in seconds.</returns>
    /// <exception cref="ArgumentException">The strategy is not a built-in one.</exception>
    public static double SimulateMakespan(PlanDefinition plan, int workers, string strategy = SchedulingStrategies.CriticalPath)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return ListScheduleSimulation.Makespan(plan, workers, strategy);
    }
}
