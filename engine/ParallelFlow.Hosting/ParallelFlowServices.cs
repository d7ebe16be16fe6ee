using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Plugins;
using ParallelFlow.Journal;

namespace ParallelFlow.Hosting;

/// <summary>Registers ParallelFlow in a host's services.</summary>
public static class ParallelFlowServiceCollectionExtensions
{
    /// <summary>
    /// Adds the engine (with the plugins of <c>ParallelFlow:Plugins</c>, loaded once, its workers logging to the host's
    /// logs), a <see cref="ParallelFlowPool"/> shared by every run, the <see cref="PlanRegistry"/> of named plans
    /// (compiled once, at start), the <see cref="ParallelFlowRunner"/> that starts runs with all of them and the
    /// journal, and a health check named <c>parallelflow</c>. The settings are read from the <c>ParallelFlow</c>
    /// section and checked when the host starts; when the host stops, runs in flight are cancelled within
    /// <see cref="ParallelFlowHostOptions.ShutdownGraceSeconds"/>.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The configuration holding the <c>ParallelFlow</c> section.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddParallelFlow(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ParallelFlowHostOptions>().Bind(configuration.GetSection(ParallelFlowHostOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ParallelFlowHostOptions>, HostOptionsValidator>());
        services.TryAddSingleton<ParallelFlowCore>();
        services.TryAddSingleton(provider => provider.GetRequiredService<ParallelFlowCore>().Engine);
        services.TryAddSingleton(provider => provider.GetRequiredService<ParallelFlowCore>().Pool);
        services.TryAddSingleton(provider => provider.GetRequiredService<ParallelFlowCore>().Plans);
        services.TryAddSingleton(provider => new ParallelFlowRunner(provider.GetRequiredService<ParallelFlowCore>()));
        services.AddHostedService<ParallelFlowHostedService>();
        services.AddHealthChecks().AddCheck<ParallelFlowHealthCheck>("parallelflow");
        return services;
    }
}

/// <summary>The plans a host runs by name, compiled once when the host starts.</summary>
public sealed class PlanRegistry
{
    private readonly Dictionary<string, (CompiledPlan Plan, string Path, string Hash)> _plans;

    internal PlanRegistry(Dictionary<string, (CompiledPlan Plan, string Path, string Hash)> plans) => _plans = plans;

    /// <summary>The names, sorted.</summary>
    public IReadOnlyList<string> Names => [.. _plans.Keys.Order(StringComparer.Ordinal)];

    /// <summary>A plan by name.</summary>
    /// <param name="name">The name under <c>ParallelFlow:Plans</c>.</param>
    /// <param name="plan">The compiled plan.</param>
    /// <returns>Whether there is one.</returns>
    public bool TryGet(string name, out CompiledPlan plan)
    {
        var found = _plans.TryGetValue(name, out var entry);
        plan = entry.Plan;
        return found;
    }

    internal (CompiledPlan Plan, string Path, string Hash)? Entry(string name) => _plans.TryGetValue(name, out var entry) ? entry : null;
}

/// <summary>Starts runs in the host: over the shared pool, recorded in the journal, with the default strategy; keeps
/// the runs in flight so that the host's stop can cancel them.</summary>
public sealed class ParallelFlowRunner
{
    private readonly ParallelFlowCore _core;
    // Each run in flight, with what completes once its end is in the journal.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<FlowRun, TaskCompletionSource> _inFlight = new();

    internal ParallelFlowRunner(ParallelFlowCore core) => _core = core;

    /// <summary>The journal the host's runs are recorded in (<c>ParallelFlow:Journal</c>); null when it keeps none.</summary>
    public RunJournal? Journal => _core.Journal;

    /// <summary>Runs a named plan with its inputs.</summary>
    /// <param name="planName">The name under <c>ParallelFlow:Plans</c>.</param>
    /// <param name="inputs">The values of the plan's inputs; none when it takes none.</param>
    /// <param name="cancellationToken">Cancels the run (an HTTP request's abort, say).</param>
    /// <returns>The run's result.</returns>
    /// <exception cref="KeyNotFoundException">No plan has that name.</exception>
    /// <exception cref="PlanValidationException">The inputs do not fit the plan; nothing ran.</exception>
    /// <exception cref="ParallelFlowPoolFullException">The pool's queue of runs is full.</exception>
    public Task<RunResult> RunAsync(string planName, IReadOnlyDictionary<string, JsonElement>? inputs, CancellationToken cancellationToken) =>
        Start(planName, inputs, cancellationToken).Completion;

    /// <summary>Starts a named plan with its inputs; see <see cref="RunAsync"/>.</summary>
    /// <param name="planName">The name under <c>ParallelFlow:Plans</c>.</param>
    /// <param name="inputs">The values of the plan's inputs.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>The run, under way or queued.</returns>
    public FlowRun Start(string planName, IReadOnlyDictionary<string, JsonElement>? inputs, CancellationToken cancellationToken)
    {
        var entry = _core.Plans.Entry(planName)
            ?? throw new KeyNotFoundException($"no plan named '{planName}'; the host's plans: {string.Join(", ", _core.Plans.Names)}");
        return Start(entry.Plan, new RunOptions { Inputs = inputs }, entry.Path, entry.Hash, cancellationToken);
    }

    /// <summary>Starts a compiled plan over the host's pool and journal (and its default strategy, unless the options
    /// name one).</summary>
    /// <param name="plan">A plan compiled by the host's engine.</param>
    /// <param name="options">The run's own settings.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>The run, under way or queued.</returns>
    public FlowRun Start(CompiledPlan plan, RunOptions? options, CancellationToken cancellationToken) =>
        Start(plan, options ?? new RunOptions(), plan.Definition.SourceFile ?? plan.Definition.Id,
            // A plan loaded from a file is recorded with its hash, so that its runs can be resumed; one built in code cannot be.
            plan.Definition.SourceFile is { } file && File.Exists(file) ? RunJournal.HashPlan(file, configPath: null) : "code", cancellationToken);

    private FlowRun Start(CompiledPlan plan, RunOptions options, string path, string hash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var journal = _core.Journal;
        var runId = options.RunId ?? RunIds.New(TimeProvider.System);
        // Inputs that do not fit are refused before the run is recorded: nothing ran.
        _core.Engine.Catalog.Secrets.Refresh();
        var values = PlanInputs.Resolve(plan.Definition, options.Inputs, _core.Engine.Catalog.Secrets);
        options = options with
        {
            Pool = options.Pool ?? _core.Pool,
            Strategy = options.Strategy ?? _core.Options.DefaultStrategy,
            RunId = runId,
            Journal = options.Journal ?? journal,
            Cache = options.Cache ?? journal,
            Dispatcher = options.Dispatcher ?? _core.Dispatcher,
        };
        journal?.BeginRun(runId, plan.Definition.Id, path, hash, null, _core.PluginsPath, options.Workers, DateTimeOffset.UtcNow, values, fingerprints: PlanEdits.Fingerprints(plan));
        FlowRun run;
        try
        {
            run = plan.Start(options, cancellationToken);
        }
        catch (Exception) when (journal is not null)
        {
            journal.AbandonRun(runId, DateTimeOffset.UtcNow);
            throw;
        }

        _inFlight.TryAdd(run, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _ = run.Completion.ContinueWith(
            (done, state) =>
            {
                var (self, flow) = ((ParallelFlowRunner, FlowRun))state!;
                try
                {
                    if (done.IsCompletedSuccessfully)
                    {
                        self._core.Journal?.FinishRun(done.Result);
                    }
                    else
                    {
                        // An engine fault: the run is kept as failed, resumable, never as running.
                        self._core.Journal?.AbandonRun(flow.RunId, DateTimeOffset.UtcNow);
                    }
                }
                finally
                {
                    if (self._inFlight.TryRemove(flow, out var recorded))
                    {
                        recorded.TrySetResult();
                    }
                }
            },
            (this, run),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return run;
    }

    /// <summary>Completes once a run this runner started has ended and its end is in the journal (at once for a run
    /// it does not have in flight): what to wait for before reading the run back from the journal, or resuming it.</summary>
    /// <param name="run">The run.</param>
    /// <returns>A task that completes when the run's end is recorded.</returns>
    public Task WhenRecorded(FlowRun run) => _inFlight.TryGetValue(run ?? throw new ArgumentNullException(nameof(run)), out var recorded) ? recorded.Task : Task.CompletedTask;

    /// <summary>Cancels every run in flight and waits up to <paramref name="grace"/> for them to end and their ends to
    /// be in the journal: a run that has just ended (its events over, a client told so) may not be recorded yet, and a
    /// host that stopped before it was would leave it listed as interrupted.</summary>
    internal async Task StopAsync(TimeSpan grace)
    {
        var runs = _inFlight.ToList();
        foreach (var (run, _) in runs)
        {
            run.Cancel();
        }

        await Task.WhenAny(Task.WhenAll(runs.Select(r => r.Value.Task)), Task.Delay(grace)).ConfigureAwait(false);
    }
}

/// <summary>What the host builds once: the engine with its plugins, the pool, the journal and the plans.</summary>
internal sealed class ParallelFlowCore : IDisposable
{
    public ITaskDispatcher? Dispatcher { get; }

    public ParallelFlowCore(IOptions<ParallelFlowHostOptions> options, ILoggerFactory loggerFactory, IHostEnvironment environment, IEnumerable<ITaskDispatcher> dispatchers)
    {
        // A cluster's dispatcher (UseOrleansCluster in ParallelFlow.Orleans), when the host has one: every run's tasks go there.
        Dispatcher = dispatchers.LastOrDefault();
        Options = options.Value;
        var root = environment.ContentRootPath;
        var catalog = BuiltInWorkers.CreateCatalog();
        if (Options.Plugins is { } plugins)
        {
            PluginsPath = Path.GetFullPath(plugins, root);
            if (!PluginHost.IsLoadingSupported)
            {
                throw new InvalidOperationException(
                    $"ParallelFlow cannot start: {ParallelFlowHostOptions.Section}:Plugins names {PluginsPath}, but this host is trimmed or compiled to native code (PublishTrimmed or PublishAot), which cannot load plugin assemblies. Leave {ParallelFlowHostOptions.Section}:Plugins unset, and register the plugins compiled into the host with PluginHost.Register.");
            }

            PluginReport = PluginHost.LoadInto(catalog, PluginsPath, loggerFactory);
        }

        // A limit on a worker type nothing provides is a typo, or a plugin that did not load: it would limit nothing.
        var unknown = Options.Limits.Keys.Where(type => !catalog.TryGetWorker(type, out _)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidOperationException(
                $"ParallelFlow cannot start: {string.Join("; ", unknown.Select(type => $"{ParallelFlowHostOptions.Section}:Limits:{type} names no worker type{(ParallelFlow.Engine.Plans.DisplayText.Suggest(type, catalog.WorkerNames) is { } close ? $" (did you mean '{close}'?)" : string.Empty)}"))}. The worker types: {string.Join(", ", catalog.WorkerNames)}");
        }

        Engine = new ParallelFlowEngine(new EngineOptions { Catalog = catalog, LoggerFactory = loggerFactory });
        Pool = new ParallelFlowPool(new PoolOptions
        {
            Workers = Options.Workers,
            Limits = Options.Limits,
            MaxActiveRuns = Options.MaxActiveRuns,
            MaxQueuedRuns = Options.MaxQueuedRuns,
        });
        if (Options.DefaultStrategy is { } strategy && Engine.Catalog.StrategyProblem(strategy) is { } problem)
        {
            throw new InvalidOperationException($"ParallelFlow cannot start: {ParallelFlowHostOptions.Section}:DefaultStrategy: {problem}");
        }

        var plans = new Dictionary<string, (CompiledPlan, string, string)>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var (name, file) in Options.Plans)
        {
            var path = Path.GetFullPath(file, root);
            try
            {
                plans[name] = (Engine.Compile(Engine.LoadPlan(path)), path, RunJournal.HashPlan(path, configPath: null));
            }
            catch (PlanValidationException ex)
            {
                problems.Add($"{ParallelFlowHostOptions.Section}:Plans:{name}: {ex.Errors.Count(e => !e.IsWarning)} error(s)\n  {string.Join("\n  ", ex.Errors.Where(e => !e.IsWarning))}");
            }
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException("ParallelFlow cannot start: a plan has errors.\n" + string.Join("\n", problems));
        }

        Plans = new PlanRegistry(plans);
        // Opened last, so that nothing above can fail with the journal open.
        Journal = Options.Journal is { } journal
            ? RunJournal.IsDatabase(journal) || journal.Contains('=', StringComparison.Ordinal) ? RunJournal.OpenConnection(journal) : RunJournal.Open(Path.GetFullPath(journal, root))
            : null;
    }

    public ParallelFlowHostOptions Options { get; }

    public ParallelFlowEngine Engine { get; }

    public ParallelFlowPool Pool { get; }

    public RunJournal? Journal { get; }

    public PlanRegistry Plans { get; }

    public PluginLoadReport? PluginReport { get; }

    /// <summary>The plugins.json loaded, as a full path (the journal records it, so that a run can be resumed elsewhere).</summary>
    public string? PluginsPath { get; }

    public void Dispose() => Journal?.Dispose();
}

/// <summary>Builds ParallelFlow when the host starts (so a plan with errors stops the start), warms the engine up on a
/// spare core (so that the service's first run compiles none of the engine's code, and, from a few seconds after the
/// start, finds it recompiled optimised: <see cref="EngineWarmUp"/>; the warm-up reaches no span or metric), and
/// cancels runs in flight within the grace period when it stops.</summary>
internal sealed class ParallelFlowHostedService(ParallelFlowCore core, ParallelFlowRunner runner) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // A service lives on: the warm-up's later passes too, so that its runs find the engine's code optimised.
        _ = EngineWarmUp.Start(optimise: true);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) =>
        runner.StopAsync(TimeSpan.FromSeconds(core.Options.ShutdownGraceSeconds));
}

/// <summary>Unhealthy when a plugin failed to load; otherwise healthy, with the pool's figures.</summary>
internal sealed class ParallelFlowHealthCheck(ParallelFlowCore core) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["running_tasks"] = core.Pool.RunningTasks,
            ["active_runs"] = core.Pool.ActiveRuns,
            ["queued_runs"] = core.Pool.QueuedRuns,
            ["plans"] = string.Join(", ", core.Plans.Names),
        };
        var errors = core.PluginReport?.Errors.Where(e => !e.IsWarning).ToList() ?? [];
        return Task.FromResult(errors.Count == 0
            ? HealthCheckResult.Healthy($"{core.PluginReport?.Plugins.Count ?? 0} plugin(s) loaded", data)
            : HealthCheckResult.Unhealthy($"plugins failed to load: {string.Join("; ", errors.Select(e => e.Message))}", data: data));
    }
}

/// <summary>Checks the settings when the host starts.</summary>
internal sealed class HostOptionsValidator(IHostEnvironment environment) : IValidateOptions<ParallelFlowHostOptions>
{
    public ValidateOptionsResult Validate(string? name, ParallelFlowHostOptions options)
    {
        var failures = new List<string>();
        var section = ParallelFlowHostOptions.Section;
        if (options.Workers < 1)
        {
            failures.Add($"{section}:Workers is {options.Workers}; it must be at least 1");
        }

        failures.AddRange(options.Limits.Where(l => l.Value < 1).Select(l => $"{section}:Limits:{l.Key} is {l.Value}; a limit must be at least 1"));
        if (options.MaxActiveRuns is < 1)
        {
            failures.Add($"{section}:MaxActiveRuns is {options.MaxActiveRuns}; it must be at least 1 (or left out for no limit)");
        }

        if (options.MaxQueuedRuns < 0)
        {
            failures.Add($"{section}:MaxQueuedRuns is {options.MaxQueuedRuns}; it must be 0 or more");
        }

        if (options.ShutdownGraceSeconds is < 0 or > 3_600 || double.IsNaN(options.ShutdownGraceSeconds))
        {
            failures.Add($"{section}:ShutdownGraceSeconds is {options.ShutdownGraceSeconds}; it must be from 0 to 3600");
        }

        if (options.Plugins is { } plugins && !File.Exists(Path.GetFullPath(plugins, environment.ContentRootPath)))
        {
            failures.Add($"{section}:Plugins names '{plugins}', which is not a file (relative paths are from {environment.ContentRootPath})");
        }

        foreach (var (plan, file) in options.Plans)
        {
            if (!File.Exists(Path.GetFullPath(file, environment.ContentRootPath)))
            {
                failures.Add($"{section}:Plans:{plan} names '{file}', which is not a file (relative paths are from {environment.ContentRootPath})");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
