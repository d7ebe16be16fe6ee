using System.CommandLine;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Replay;

namespace ParallelFlow.Cli.Commands;

/// <summary>The plan a command works on: the plan argument, <c>--config</c> and, for commands that take it,
/// <c>--workers</c>; and loading the plan with them, printing every problem to stderr.</summary>
internal sealed class PlanSource
{
    private readonly Argument<string> _plan = new("plan") { Description = "The plan file (.json, .yaml or .yml)." };

    private readonly Option<string?> _config = new("--config")
    {
        Description = "A config.json (parallelism, timeouts, retry) whose sections replace the plan's own.",
    };

    private readonly Option<string?> _plugins = PluginSetup.Option();

    private readonly Option<double?> _timeScale = NumberOptions.Real("--time-scale",
        "For a WfCommons workflow trace (WfFormat JSON, read as simulate tasks): replay seconds per recorded second (default 0.001).", above: 0);

    private readonly Option<string?> _replayMode = new("--replay-mode")
    {
        Description = "For a WfCommons workflow trace: sleep (tasks wait, latency-bound; the default) or cpu (tasks keep a core busy).",
    };

    private readonly Option<int?>? _workers;

    public PlanSource(bool takesWorkers)
    {
        if (!takesWorkers)
        {
            return;
        }

        _workers = NumberOptions.Whole("--workers", "How many tasks may run at once (default: the plan's parallelism, else the processor count).", min: 1, "-w");
    }

    public void AddTo(Command command)
    {
        command.Arguments.Add(_plan);
        command.Options.Add(_config);
        command.Options.Add(_plugins);
        command.Options.Add(_timeScale);
        _replayMode.AcceptOnlyFromAmong("sleep", "cpu");
        command.Options.Add(_replayMode);
        if (_workers is not null)
        {
            command.Options.Add(_workers);
        }
    }

    public string PathOf(ParseResult parseResult) => parseResult.GetRequiredValue(_plan);

    public string? ConfigOf(ParseResult parseResult) => parseResult.GetValue(_config);

    public int? WorkersOf(ParseResult parseResult) => _workers is null ? null : parseResult.GetValue(_workers);

    /// <summary>Makes an engine with the plugins, then loads and validates the plan against it. Returns a null plan,
    /// having printed every problem, when it is invalid.</summary>
    public (ParallelFlowEngine Engine, PlanDefinition? Plan) Load(ParseResult parseResult, CliConsole console, double? gracePeriodSeconds = null, bool verbose = false)
    {
        var (engine, report, plugins) = PluginSetup.CreateEngine(parseResult.GetValue(_plugins), console, gracePeriodSeconds, verbose, PathOf(parseResult));
        PluginsUsed = plugins;
        if (PluginSetup.Refused(parseResult.GetValue(_plugins), report?.Errors, console))
        {
            return (engine, null);
        }

        return (engine, Load(parseResult, engine, plugins, console));
    }

    /// <summary>Loads and validates a plan for a command that only checks it (<c>validate</c>): a plan that names only
    /// built-in workers, scorers and mergers is checked without loading a plugin, since a plugin can add names but
    /// never change a built-in one; any other plan is checked as <see cref="Load(ParseResult, CliConsole, double?, bool)"/>
    /// does. Loading the plugins is most of a small plan's check (about 60–100 ms of a fresh process).</summary>
    public PlanDefinition? Check(ParseResult parseResult, CliConsole console)
    {
        var given = parseResult.GetValue(_plugins);
        var path = PathOf(parseResult);
        PlanDefinition plan;
        try
        {
            plan = Read(new ParallelFlowEngine(), path, parseResult.GetValue(_config), parseResult.GetValue(_timeScale), ReplayModeOf(parseResult));
        }
#pragma warning disable CA1031 // Anything the built-in check cannot settle, the full check reports.
        catch (Exception)
#pragma warning restore CA1031
        {
            return Load(parseResult, console).Plan;
        }

        // A list given with --plugins is still read, so that a typo in it is reported.
        if (given is not null && Engine.Plugins.PluginManifest.Read(given).Errors is { Count: > 0 } problems)
        {
            foreach (var problem in problems)
            {
                console.Error.WriteLine(problem);
            }

            if (PluginSetup.Refused(given, problems, console))
            {
                return null;
            }
        }

        PluginsUsed = PluginSetup.Resolve(given, path);
        return Accept(plan, path, WorkersOf(parseResult), console);
    }

    /// <summary>The plugins.json the last <see cref="Load(ParseResult, CliConsole, double?, bool)"/> used, found or given; null when none.</summary>
    public string? PluginsUsed { get; private set; }

    private PlanDefinition? Load(ParseResult parseResult, ParallelFlowEngine engine, string? plugins, CliConsole console) =>
        LoadFrom(engine, PathOf(parseResult), parseResult.GetValue(_config), WorkersOf(parseResult), console, parseResult.GetValue(_timeScale), ReplayModeOf(parseResult), plugins);

    private ReplayMode? ReplayModeOf(ParseResult parseResult) =>
        parseResult.GetValue(_replayMode) == "cpu" ? ReplayMode.Cpu : parseResult.GetValue(_replayMode) is null ? null : ReplayMode.Sleep;

    /// <summary>Loads a plan, printing its warnings, or every error and null.</summary>
    public static PlanDefinition? LoadFrom(ParallelFlowEngine engine, string path, string? config, int? workers, CliConsole console, double? timeScale = null, ReplayMode? replayMode = null,
        string? pluginsUsed = "")
    {
        try
        {
            return Accept(Read(engine, path, config, timeScale, replayMode), path, workers, console);
        }
        catch (PlanValidationException ex)
        {
            foreach (var error in ex.Errors)
            {
                console.Error.WriteLine(error);
            }

            if (pluginsUsed is null)
            {
                PluginSetup.ExplainUnknownWorkers(ex.Errors, null, path, console);
            }

            var count = ex.Errors.Count(e => !e.IsWarning);
            console.Error.WriteLine($"{path}: {count} error{(count == 1 ? "" : "s")}; nothing was run.");
            return null;
        }
    }

    /// <summary>Reads and validates a plan file, or a workflow trace when a replay option is given.</summary>
    /// <exception cref="PlanValidationException">The plan has errors.</exception>
    private static PlanDefinition Read(ParallelFlowEngine engine, string path, string? config, double? timeScale, ReplayMode? replayMode) =>
        timeScale is not null || replayMode is not null
            ? engine.LoadWorkflow(path, timeScale ?? 0.001, replayMode ?? ReplayMode.Sleep)
            : engine.LoadPlan(path, config);

    /// <summary>A valid plan: prints its warnings, and refuses a --workers outside its parallelism (null).</summary>
    private static PlanDefinition? Accept(PlanDefinition plan, string path, int? workers, CliConsole console)
    {
        foreach (var warning in plan.Warnings)
        {
            console.Error.WriteLine(warning);
        }

        if (workers is { } requested && OutsideParallelism(plan.Parallelism, requested) is { } message)
        {
            console.Error.WriteLine($"{path}: error PF0009: {message}");
            return null;
        }

        return plan;
    }

    private static string? OutsideParallelism(ParallelismSettings parallelism, int workers) => parallelism switch
    {
        { MinWorkers: { } min } when workers < min => $"--workers {workers} is below the plan's parallelism.min_workers ({min})",
        { MaxWorkers: { } max } when workers > max => $"--workers {workers} is above the plan's parallelism.max_workers ({max})",
        _ => null,
    };
}
