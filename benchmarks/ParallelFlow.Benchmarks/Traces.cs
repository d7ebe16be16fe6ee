using ParallelFlow.Engine;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Replay;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// The WfCommons traces of ../shared/workflows, found beside the repository (or at <c>$PARALLELFLOW_WORKFLOWS</c>),
/// and one benchmark case of them: a trace replayed at the scale that makes its lower bound
/// max(critical path, work / workers) a fixed length, so every case takes about as long, whatever its size.
/// </summary>
public static class Traces
{
    /// <summary>Folder of the WfInstances traces.</summary>
    public static string Folder { get; } = Find();

    public static string PathOf(string trace) => System.IO.Path.Combine(Folder, trace + ".json");

    /// <summary>The repository's root: the first folder up from here (or from the binaries) with ParallelFlow.sln.</summary>
    public static string RepositoryRoot { get; } = new[] { Environment.CurrentDirectory, AppContext.BaseDirectory }
        .SelectMany(start => Ancestors(new DirectoryInfo(start)))
        .FirstOrDefault(dir => File.Exists(System.IO.Path.Combine(dir.FullName, "ParallelFlow.sln")))?.FullName
        ?? throw new DirectoryNotFoundException("ParallelFlow.sln was not found above the working folder: run the benchmarks from the repository.");

    private static IEnumerable<DirectoryInfo> Ancestors(DirectoryInfo? dir)
    {
        for (; dir is not null; dir = dir.Parent)
        {
            yield return dir;
        }
    }

    private static string Find()
    {
        if (Environment.GetEnvironmentVariable("PARALLELFLOW_WORKFLOWS") is { Length: > 0 } configured)
        {
            return configured;
        }

        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = System.IO.Path.Combine(dir.FullName, "shared", "workflows", "wfinstances");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new DirectoryNotFoundException("The WfCommons traces were not found: set PARALLELFLOW_WORKFLOWS to the wfinstances folder.");
    }
}

/// <summary>One replay case: a trace, a worker count (0 = unlimited) and a mode, scaled so its lower bound is
/// <see cref="LowerBoundSeconds"/>.</summary>
public sealed class ReplayCase
{
    private static readonly Dictionary<(string, int, string, double), ReplayCase> Cache = [];

    private ReplayCase(string trace, int workers, string mode, double lowerBoundSeconds)
    {
        var path = Traces.PathOf(trace);
        var replay = mode == "cpu" ? ReplayMode.Cpu : ReplayMode.Sleep;
        var recorded = PlanLoader.LoadWorkflow(path, timeScale: 1);
        TaskCount = recorded.Tasks.Count;
        // CPU-bound tasks cannot run more at once than there are cores, whatever the worker count.
        EffectiveWorkers = workers == 0 ? TaskCount : workers;
        if (replay == ReplayMode.Cpu)
        {
            EffectiveWorkers = Math.Min(EffectiveWorkers, Environment.ProcessorCount);
        }

        var analysis = ParallelFlowEngine.Analyze(recorded);
        Scale = lowerBoundSeconds / analysis.LowerBoundSeconds(EffectiveWorkers);
        Plan = PlanLoader.LoadWorkflow(path, Scale, catalog: null, replay);
        (Graph, Seconds) = Graph.FromPlan(Plan);
        Workers = workers == 0 ? TaskCount : workers;
        LowerBoundSeconds = lowerBoundSeconds;
        CriticalPathSeconds = analysis.CriticalPathSeconds * Scale;
        WorkSeconds = analysis.TotalWorkSeconds * Scale;
    }

    public PlanDefinition Plan { get; }

    public Graph Graph { get; }

    /// <summary>Each task's replayed duration, by <see cref="Graph"/> number.</summary>
    public double[] Seconds { get; }

    public int TaskCount { get; }

    /// <summary>The worker count the run is given.</summary>
    public int Workers { get; }

    /// <summary>The parallelism the lower bound assumes: the worker count, at most the cores for CPU-bound tasks.</summary>
    public int EffectiveWorkers { get; }

    public double Scale { get; }

    public double LowerBoundSeconds { get; }

    public double CriticalPathSeconds { get; }

    public double WorkSeconds { get; }

    public static ReplayCase Get(string trace, int workers, string mode, double lowerBoundSeconds)
    {
        lock (Cache)
        {
            var key = (trace, workers, mode, lowerBoundSeconds);
            if (!Cache.TryGetValue(key, out var replay))
            {
                replay = new ReplayCase(trace, workers, mode, lowerBoundSeconds);
                Cache[key] = replay;
            }

            return replay;
        }
    }

    /// <summary>The makespan of an ideal list scheduler with no overhead, taking ready tasks in the strategy's order.</summary>
    public double SimulatedSeconds(string strategy) => ParallelFlowEngine.SimulateMakespan(Plan, EffectiveWorkers, strategy);

    /// <summary>A baseline's stand-in for a task: sleep, or keep a core busy, for its replayed duration.</summary>
    public Func<int, ValueTask> Work(string mode) => mode == "cpu"
        ? task =>
        {
            // The same calibrated computation as the simulate worker's cpu mode.
            Engine.Workers.CpuWork.Run(TimeSpan.FromSeconds(Seconds[task]));
            return ValueTask.CompletedTask;
        }
    : task => Seconds[task] > 0 ? new ValueTask(Task.Delay(TimeSpan.FromSeconds(Seconds[task]))) : ValueTask.CompletedTask;
}
