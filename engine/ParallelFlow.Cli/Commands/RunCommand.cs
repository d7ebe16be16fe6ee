using System.CommandLine;
using ParallelFlow.Cli.Output;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Diagnostics;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Reporting;
using ParallelFlow.Journal;
using ParallelFlow.Orleans;

namespace ParallelFlow.Cli.Commands;

/// <summary><c>parallelflow run PLAN</c>: runs a plan with live progress and writes its report.</summary>
internal static class RunCommand
{
    public static Command Create(CliConsole console)
    {
        var input = new PlanSource(takesWorkers: true);
        var outputs = new RunOutputs(report: true);
        var quiet = new Option<bool>("--quiet", "-q")
        {
            Description = "Print only the summary, not each event.",
        };
        var journal = JournalSetup.Option($"The run journal to record the run in: a SQLite file, or a PostgreSQL database shared by several machines (Host=…;Database=…, the password in PGPASSWORD). Default: $PARALLELFLOW_JOURNAL, else the first .parallelflow/journal.db beside the plan, here or in ${FileLookup.HomeVariable}; else a new one beside the plan.");
        var noJournal = new Option<bool>("--no-journal") { Description = "Do not record the run; it cannot be resumed." };
        var noCache = new Option<bool>("--no-cache") { Description = "Execute every task, even those whose result the journal's cache holds." };
        var noHistory = JournalSetup.NoHistoryOption();
        var adaptive = new Option<bool>("--adaptive")
        {
            Description = "Let the pool grow from --workers (or the plan's default) towards max_workers while ready tasks wait and the machine has room, and shrink when CPU use passes resources.cpu_threshold or memory runs low (parallelism.adaptive).",
        };
        var cacheTtl = NumberOptions.Real("--cache-ttl", "Reuse cached results no older than this many seconds (default: no limit).", above: 0, orEqual: true, max: 1e9);
        var strategy = new Option<string?>("--strategy")
        {
            Description = "The order ready tasks get a worker: critical_path (default), priority, fifo, shortest_first or a plugin's strategy; replaces the plan's.",
        };
        var grace = PluginSetup.GracePeriodOption();
        var inputs = new InputOptions();
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Print the engine's and the workers' log lines (a plugin's request.Logger) on stderr." };
        var telemetry = new TelemetryOptions();
        var only = new Option<string[]>("--only")
        {
            Description = "Run only these tasks (comma-separated, or the option repeated) and the tasks they depend on (depends_on, transitively); the rest of the plan is left out.",
            Arity = ArgumentArity.OneOrMore,
        };
        var cluster = ClusterCommands.ClusterOption();
        var command = new Command("run", "Runs a plan: each task starts as soon as its dependencies are done.") { quiet, journal, noJournal, noCache, noHistory, adaptive, cacheTtl, strategy, grace, verbose, only, cluster };
        input.AddTo(command);
        outputs.AddTo(command);
        telemetry.AddTo(command);
        inputs.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            // The engine's paths warm up on another core while the plugins and the plan load (awaited before the run).
            _ = EngineWarmUp.Start();
            var requested = input.WorkersOf(parseResult);
            var (engine, loaded) = input.Load(parseResult, console, parseResult.GetValue(grace), parseResult.GetValue(verbose));
            if (loaded is null)
            {
                return ExitCodes.InvalidInput;
            }

            string[] selected = [.. (parseResult.GetValue(only) ?? []).SelectMany(o => o.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];
            if (selected.Length > 0)
            {
                try
                {
                    var whole = loaded.Tasks.Count;
                    loaded = loaded.Only(selected);
                    await console.Error.WriteLineAsync($"--only: running {loaded.Tasks.Count} of {whole} tasks ({string.Join(", ", selected)} and what they depend on)").ConfigureAwait(false);
                }
                catch (KeyNotFoundException ex)
                {
                    await console.Error.WriteLineAsync($"{input.PathOf(parseResult)}: error: --only: {ex.Message}; nothing was run.").ConfigureAwait(false);
                    return ExitCodes.InvalidInput;
                }
            }

            var strategyName = parseResult.GetValue(strategy);
            if (strategyName is not null && engine.Catalog.StrategyProblem(strategyName) is { } problem)
            {
                await console.Error.WriteLineAsync($"error: --strategy: {problem}").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            var planPath = input.PathOf(parseResult);
            engine.Catalog.Secrets.Refresh();
            if (inputs.Read(parseResult, loaded, planPath, console, engine.Catalog.Secrets) is not { } values)
            {
                return ExitCodes.InvalidInput;
            }

            // Opened before the journal, so that a file that cannot be written stops the command before anything
            // is recorded or run.
            using var files = outputs.Open(parseResult, console);
            if (files is null)
            {
                return ExitCodes.InvalidInput;
            }

            RunJournal? opened = null;
            if (!parseResult.GetValue(noJournal))
            {
                try
                {
                    opened = RunJournal.Open(JournalSetup.Resolve(parseResult.GetValue(journal), planPath));
                }
                catch (JournalException ex)
                {
                    await console.Error.WriteLineAsync($"error: {ex.Message}; nothing was run.").ConfigureAwait(false);
                    return ExitCodes.InvalidInput;
                }
            }

            using (opened)
            {
                // The critical path and budgets plan with what earlier runs of the plan measured.
                loaded = JournalSetup.Learn(opened, loaded, parseResult.GetValue(noHistory), parseResult.GetValue(quiet), console);
                var options = new RunOptions
                {
                    Workers = requested,
                    StreamEvents = true,
                    Journal = opened,
                    RunId = RunIds.New(TimeProvider.System),
                    Cache = parseResult.GetValue(noCache) ? null : opened,
                    CacheTimeToLive = parseResult.GetValue(cacheTtl) is { } ttl ? TimeSpan.FromSeconds(ttl) : null,
                    Strategy = strategyName,
                    Inputs = values,
                    Adaptive = parseResult.GetValue(adaptive) ? true : null,
                };
                try
                {
                    opened?.BeginRun(
                        options.RunId, loaded.Id, Path.GetFullPath(planPath), RunJournal.HashPlan(planPath, input.ConfigOf(parseResult)),
                        input.ConfigOf(parseResult) is { } c ? Path.GetFullPath(c) : null, input.PluginsUsed is { } p ? Path.GetFullPath(p) : null, requested, DateTimeOffset.UtcNow, values, cacheOff: parseResult.GetValue(noCache), only: selected,
                        fingerprints: PlanEdits.Fingerprints(loaded, engine.Catalog));
                }
                catch (JournalException ex)
                {
                    await console.Error.WriteLineAsync($"error: {ex.Message}; nothing was run.").ConfigureAwait(false);
                    return ExitCodes.InvalidInput;
                }

                return await ExecuteAsync(engine, loaded, options, files, telemetry, parseResult, opened, console, cancellationToken).ConfigureAwait(false);
            }
        });
        return command;
    }

    /// <summary>Runs a loaded plan with the live view, the summary, the report and the journal; shared by <c>run</c> and
    /// <c>resume</c>. The output files come opened: the caller opens them before it records anything in the journal.</summary>
    public static async Task<int> ExecuteAsync(ParallelFlowEngine engine, PlanDefinition plan, RunOptions options, RunOutputs.Files files, TelemetryOptions telemetry, ParseResult parseResult, RunJournal? journal, CliConsole console, CancellationToken cancellationToken)
    {
        var quiet = parseResult.GetValue<bool>("--quiet");
        // Its runs reach no exporter; waited for so that they do not compete with the run (three 4-task runs).
        await WarmedAsync().ConfigureAwait(false);
        using var exporters = telemetry.Start(parseResult, console);

        // --cluster: the tasks execute on the cluster's silos; the scheduler, the journal and the report stay here.
        ClusterSession? connected = null;
        ClusterConnection? cluster = null;
        if (ClusterText(parseResult) is { } clusterText)
        {
            cluster = ClusterCommands.Parse(clusterText, console);
            connected = cluster is not null
                ? await ClusterCommands.ConnectAsync(cluster, console, parseResult.GetValue<bool>("--verbose"), cancellationToken).ConfigureAwait(false)
                : null;
            if (connected is null)
            {
                if (journal is not null && options.RunId is { } unused)
                {
                    TryAbandon(journal, unused);
                }

                return ExitCodes.InvalidInput;
            }
        }

        await using var session = connected;
        if (session is not null)
        {
            var silos = session.Dispatcher.Silos;
            // The cluster's slots stand in for this machine's processors: --workers, else the plan's own parallelism,
            // else every slot of the cluster.
            options = options with
            {
                Dispatcher = session.Dispatcher,
                Workers = options.Workers ?? (plan.Parallelism is { DefaultWorkers: null, MaxWorkers: null } ? session.Dispatcher.TotalSlots : null),
            };
            if (!quiet)
            {
                // Shown without a password, as the connection prints itself.
                await console.Out.WriteLineAsync($"cluster {cluster}: {silos.Count} silo(s), {silos.Sum(s => s.Slots)} slot(s); {plan.Parallelism.Resolve(options.Workers)} at once for this run").ConfigureAwait(false);
            }
        }

        // The timeline, the HTML page and a journal's report draw each attempt on its worker.
        options = options with { RecordAttempts = true };

        RunResult result;
        FlowRun run;
        try
        {
            run = engine.Compile(plan).Start(options, cancellationToken);
        }
        catch (PlanValidationException ex)
        {
            // A task's worker refused its parameters with the run's inputs put in: nothing ran.
            foreach (var error in ex.Errors)
            {
                await console.Error.WriteLineAsync(error.ToString()).ConfigureAwait(false);
            }

            await console.Error.WriteLineAsync($"{plan.SourceFile ?? plan.Id}: {ex.Errors.Count} error(s) with these inputs; nothing was run.").ConfigureAwait(false);
            if (journal is not null && options.RunId is { } abandoned)
            {
                TryAbandon(journal, abandoned);
            }

            return ExitCodes.InvalidInput;
        }

        try
        {
            IRunView view = quiet ? new QuietView() : console.IsInteractive ? new LiveView(console, plan, run) : new PlainView(console);
            await view.ShowAsync(run.ReadEventsAsync(CancellationToken.None)).ConfigureAwait(false);
            result = await run.Completion.ConfigureAwait(false);
        }
        catch when (journal is not null && options.RunId is { } runId)
        {
            // The run never produced a result: the journal must not keep it as running for ever.
            TryAbandon(journal, runId);
            throw;
        }

        if (journal is not null)
        {
            try
            {
                journal.FinishRun(result);
            }
            catch (JournalException ex)
            {
                // The tasks ran: say so, and still give the summary and the report.
                await console.Error.WriteLineAsync($"warning: {ex.Message}; the run's end is not recorded, so 'parallelflow runs' may list it as interrupted").ConfigureAwait(false);
            }
        }

        RunSummary.Print(result, console, quiet);
        if (journal is not null && !quiet)
        {
            await console.Out.WriteLineAsync($"journal: {journal.Path} ({ShellQuote.Join("parallelflow", "show", result.RunId, "--journal", journal.Path)})").ConfigureAwait(false);
        }

        var resume = result.Status == RunStatus.Succeeded || journal is null ? null : journal.ResumeCommand(result.RunId);
        var steps = RunReport.NextSteps(result, resume);
        if (steps.Count > 0 && !quiet)
        {
            await console.Out.WriteLineAsync("next steps:").ConfigureAwait(false);
            foreach (var step in steps)
            {
                await console.Out.WriteLineAsync($"  - {step}").ConfigureAwait(false);
            }
        }

        if (files.Any)
        {
            using var report = RunReport.ToDocument(result, resume);
            files.Write(report.RootElement, console, quiet);
        }

        return result.Status switch
        {
            RunStatus.Succeeded => ExitCodes.Success,
            RunStatus.Cancelled => ExitCodes.Cancelled,
            _ => ExitCodes.TasksFailed,
        };
    }

    /// <summary>Waits for the engine's warm-up (<see cref="EngineWarmUp"/>), at most a second.</summary>
    internal static async Task WarmedAsync()
    {
        try
        {
            await EngineWarmUp.Start().WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A machine too busy to warm up in a second runs cold.
        }
    }

    /// <summary>The <c>--cluster</c> of a command that has the option.</summary>
    private static string? ClusterText(ParseResult parseResult) =>
        parseResult.CommandResult.Command.Options.Any(o => o.Name == "--cluster") ? parseResult.GetValue<string?>("--cluster") : null;

    /// <summary>Records that a run ended without a result, so the journal does not keep it running for ever; never
    /// throws, so the failure that ended the run is the one reported.</summary>
    private static void TryAbandon(RunJournal journal, string runId)
    {
        try
        {
            journal.AbandonRun(runId, DateTimeOffset.UtcNow);
        }
        catch (JournalException)
        {
            // The journal is failing too; the run will show as interrupted.
        }
    }
}
