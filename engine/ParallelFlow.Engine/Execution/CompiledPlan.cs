using System.Threading.Tasks.Dataflow;
using ParallelFlow.Engine.Analysis;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// A validated plan turned into what runs it: numbered tasks, compact dependency arrays, resolved workers, scheduling
/// ranks and retry/timeout pipelines. Compile once, run any number of times, also concurrently: each
/// <see cref="Start"/> has its own state and Dataflow blocks and shares this immutable structure; a run that ends gives
/// its blocks back for the next run to take, so sequential runs make them once.
/// </summary>
public sealed class CompiledPlan
{
    internal CompiledPlan(PlanDefinition plan, PlanGraph graph, ParallelFlowWorker[] workers, int[] group, string[] groupNames,
        int[] groupLimits, int[] rank, TaskPolicy?[] policies, PlanAnalysis analysis, int[] wave, int[] order, EngineContext context,
        double[] estimates, double[] bottomLevel, Workers.WorkerCatalog catalog, object?[]? boundParameters, bool[] usesInputs, string[][]? inputNames)
    {
        UsesInputs = usesInputs;
        InputNames = inputNames;
        Estimates = estimates;
        BottomLevel = bottomLevel;
        Catalog = catalog;
        Definition = plan;
        Graph = graph;
        Tasks = plan.Tasks;
        Workers = workers;
        Group = group;
        GroupNames = groupNames;
        GroupLimits = groupLimits;
        Rank = rank;
        Policies = policies;
        Analysis = analysis;
        Wave = wave;
        Order = order;
        Context = context;
        Heartbeat = plan.Timeouts.WorkerHeartbeatSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null;
        RequestScope = new Sdk.RequestScope(context.TaskLogger, NoInputs, plan.Resources.MaxMemoryBytes);
        RequestSpecs = new TaskRequestSpec[Tasks.Count];
        Plain = new bool[Tasks.Count];
        LendsRequests = new bool[Tasks.Count];
        for (var task = 0; task < RequestSpecs.Length; task++)
        {
            var definition = Tasks[task];
            RequestSpecs[task] = new TaskRequestSpec(definition.Id, definition.Worker, definition.Description, definition.With, boundParameters?[task]);
            Plain[task] = policies[task] is null && ((definition.Context ?? plan.Context) is null || graph.HardPredecessorStart[task] == graph.HardPredecessorStart[task + 1]);
            // Not under a heartbeat: its attempts are watched in an async method, with a request of their own.
            LendsRequests[task] = Plain[task] && !workers[task].KeepsRequests && !(Heartbeat is not null && workers[task].ReportsProgress);
        }

        // The first run's per-task arrays, made with the plan (a plan is compiled to be run): that run, whichever way it
        // is started, writes memory already touched instead of new pages. In a new process, a 1k-task chain's first
        // run then takes 7 page faults instead of 25 (some 4 µs each on a VM) and 10% less time. Later runs take the
        // arrays runs give back.
        _idleArrays = new RunArrays(new TaskRow[Tasks.Count], new TaskResult?[Tasks.Count], new int[Tasks.Count], Lane: null);

        // The default order's tasks by place and its ties, made with the plan too: the first run would otherwise read
        // every task's definition for them, scattered objects that a run after a pause finds out of the caches (40–110
        // µs for 1k tasks after 6 s idle, against 11 µs at once). Eight bytes a task.
        TasksByRank = ReadyQueues.Inverse(Rank);
        RankTieEnd = TieEnds(TasksByRank, (a, b) => Tasks[a].Priority == Tasks[b].Priority && BottomLevel[a] == BottomLevel[b]);
    }

    /// <summary>Whether each task is <see cref="Plain"/> and its worker keeps no request past its attempt
    /// (<see cref="Sdk.ParallelFlowWorker.KeepsRequests"/>): an attempt that completes at once gives its request object
    /// back, and its executor loop's next such attempt fills it in again instead of making one.</summary>
    internal bool[] LendsRequests { get; }

    /// <summary>Whether each task is one attempt and nothing around it: no timeout, no retries, no context to cut
    /// (the run may still add a cache or spans). Such a task runs without an async state machine when its worker
    /// answers at once.</summary>
    internal bool[] Plain { get; }

    /// <summary>What every request of each task shares (its id, worker, description and the parameters its worker bound
    /// at compile time), made once:
    /// an attempt's request points at it, for runs without inputs; a run with inputs makes its own for the tasks that
    /// use them.</summary>
    internal TaskRequestSpec[] RequestSpecs { get; }

    private static readonly IReadOnlyDictionary<string, System.Text.Json.JsonElement> NoInputs = new Dictionary<string, System.Text.Json.JsonElement>().AsReadOnly();

    /// <summary>What every request of a run of this plan shares (its logger and limits), for runs without inputs; a
    /// run with inputs makes its own with their values.</summary>
    internal Sdk.RequestScope RequestScope { get; }

    /// <summary>How long an attempt may report no progress before it is taken for stuck; none when the plan sets no
    /// <c>timeouts.worker_heartbeat</c>.</summary>
    internal TimeSpan? Heartbeat { get; }

    /// <summary>The plan this was compiled from.</summary>
    public PlanDefinition Definition { get; }

    /// <summary>The plan's waves, critical path and bounds.</summary>
    public PlanAnalysis Analysis { get; }

    internal PlanGraph Graph { get; }

    internal IReadOnlyList<TaskDefinition> Tasks { get; }

    internal ParallelFlowWorker[] Workers { get; }

    /// <summary>Each task's worker-type group: tasks of one group share a limit and a ready queue.</summary>
    internal int[] Group { get; }

    internal string[] GroupNames { get; }

    /// <summary>Each group's ready queue's starting size: its task count, at most the plan's widest wave. A queue that
    /// grows by doubling allocates about twice its final size on the way, which on a 100k-task fork-join was 40 B a
    /// task of every run.</summary>
    internal int[] ReadyCapacity => _readyCapacity ??= [.. Enumerable.Range(0, GroupNames.Length)
        .Select(g => Math.Min(Analysis.MaxWidth, Group.Count(x => x == g)))];

    private int[]? _readyCapacity;

    internal int[] GroupLimits { get; }

    /// <summary>Each task's place in the order ready tasks are taken: priority, then longest remaining path, then plan order.</summary>
    internal int[] Rank { get; }

    // An in-process executor a finished run gave back, for the next run (see InProcessExecutor).
    private InProcessExecutor? _idleExecutor;

    /// <summary>Takes the executor a finished run gave back, if any.</summary>
    internal InProcessExecutor? TakeIdleExecutor() => Interlocked.Exchange(ref _idleExecutor, null);

    /// <summary>Keeps a finished run's executor for the next run, unless one is kept already.</summary>
    internal bool KeepIdleExecutor(InProcessExecutor executor) => Interlocked.CompareExchange(ref _idleExecutor, executor, null) is null;

    // Up to two sets of per-task arrays finished runs gave back. Two, because a caller that starts the next run as the
    // last one completes (its continuation, on the thread that completed it) starts it before that run's executor is
    // idle and its arrays are back: the set of the run before it is then the one kept. With one, such a run made new
    // arrays (in a 1M-task plan, 36 MB in the large-object heap, and soon a full collection).
    private RunArrays? _idleArrays;
    private RunArrays? _idleArraysToo;

    /// <summary>Takes per-task arrays a run gave back (its result disposed, its executor idle), if any.</summary>
    internal RunArrays? TakeIdleArrays() => Interlocked.Exchange(ref _idleArrays, null) ?? Interlocked.Exchange(ref _idleArraysToo, null);

    /// <summary>Keeps a run's arrays for a next run, unless two sets are kept already.</summary>
    internal void KeepIdleArrays(RunArrays arrays)
    {
        if (Interlocked.CompareExchange(ref _idleArrays, arrays, null) is not null)
        {
            Interlocked.CompareExchange(ref _idleArraysToo, arrays, null);
        }
    }

    /// <summary>Which task has each place of <see cref="Rank"/>.</summary>
    internal int[] TasksByRank { get; }

    /// <summary>For each place of <see cref="Rank"/>, the last place of its tie: the places after it up to there hold
    /// tasks of the same priority and remaining path, which the order puts in plan order only to have one.</summary>
    internal int[] RankTieEnd { get; }

    /// <summary>As <see cref="RankTieEnd"/>, for <see cref="ShortestFirstRank"/>: tasks of the same estimate.</summary>
    internal int[] ShortestFirstTieEnd => _shortestFirstTieEnd ??= TieEnds(TasksByShortestFirst, (a, b) => Estimates[a] == Estimates[b]);

    private int[]? _shortestFirstTieEnd;

    /// <summary>Each place's last place of equal key, for an order given by which task has each place.</summary>
    private static int[] TieEnds(int[] byPlace, Func<int, int, bool> tied)
    {
        var ends = new int[byPlace.Length];
        var end = byPlace.Length - 1;
        for (var place = byPlace.Length - 1; place >= 0; place--)
        {
            if (place < byPlace.Length - 1 && !tied(byPlace[place], byPlace[place + 1]))
            {
                end = place;
            }

            ends[place] = end;
        }

        return ends;
    }

    /// <summary>Which task has each place of <see cref="ShortestFirstRank"/>; built on first use.</summary>
    internal int[] TasksByShortestFirst => _byShortestFirst ??= ReadyQueues.Inverse(ShortestFirstRank);

    private int[]? _byShortestFirst;

    /// <summary>Each task's expected duration in seconds: the plan's estimate, else its worker's, else one second.</summary>
    internal double[] Estimates { get; }

    /// <summary>Each task's longest expected path to the end of the plan, itself included, by <see cref="Estimates"/>.</summary>
    internal double[] BottomLevel { get; }

    /// <summary>Where the strategy a run names is found.</summary>
    internal Workers.WorkerCatalog Catalog { get; }

    /// <summary>Tasks ranked by estimate, shortest first, for <see cref="Plans.SchedulingStrategies.ShortestFirst"/>; built on first use.</summary>
    internal int[] ShortestFirstRank => _shortestFirst ??= RankByEstimate();

    private int[]? _shortestFirst;

    private int[] RankByEstimate()
    {
        var order = Enumerable.Range(0, Tasks.Count).OrderBy(i => Estimates[i]).ThenBy(i => i).ToArray();
        var rank = new int[order.Length];
        for (var position = 0; position < order.Length; position++)
        {
            rank[order[position]] = position;
        }

        return rank;
    }

    internal TaskPolicy?[] Policies { get; }

    /// <summary>Whether each task's parameters use the plan's inputs: those are put in, checked and bound per run.</summary>
    internal bool[] UsesInputs { get; }

    /// <summary>The inputs each task's parameters name (its cache key holds their values); null when the plan takes none.</summary>
    internal string[][]? InputNames { get; }

    internal int[] Wave { get; }

    /// <summary>The tasks in a topological order.</summary>
    internal int[] Order { get; }

    internal EngineContext Context { get; }

    /// <summary>Starts a run.</summary>
    /// <param name="options">The run's settings.</param>
    /// <param name="cancellationToken">Cancels the run: running and unstarted tasks end cancelled, and so does the run.</param>
    /// <returns>The running run; await <see cref="FlowRun.Completion"/> for its result.</returns>
    /// <exception cref="PlanValidationException">The run's inputs (<see cref="RunOptions.Inputs"/>) do not fit the plan:
    /// an unknown name, a required input left out, a value of the wrong type, or a task's worker refusing its parameters
    /// with the values put in. Nothing has started then.</exception>
    public FlowRun Start(RunOptions? options = null, CancellationToken cancellationToken = default) => StartRun(options, false, cancellationToken);

    /// <summary>Starts a run (see the public overload).</summary>
    /// <param name="options">The run's settings.</param>
    /// <param name="resultOnly">Whether the caller sees the run only through its result (<see cref="RunAsync"/>): the
    /// run may then give its arrays back when the result is disposed.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    private FlowRun StartRun(RunOptions? options, bool resultOnly, CancellationToken cancellationToken)
    {
        options ??= new RunOptions();
        // A host may have set a secret variable since the engine was made: its value is masked, and refused as an input.
        Context.Secrets.Refresh();
        var inputs = RunInputs.Prepare(this, options.Inputs);
        if (options.Dispatcher is { } dispatcher)
        {
            CheckDispatched(dispatcher);
        }

        if (options.Executor is null && options.Dispatcher is null)
        {
            // Before the run is prepared, so that a thread parked since the last run wakes meanwhile (ThreadWake).
            ThreadWake.Process.BeforeRun(System.Diagnostics.Stopwatch.GetTimestamp());
        }

        var run = new FlowRun(this, options, inputs, resultOnly, cancellationToken);
        if (options.Pool is { } pool)
        {
            pool.Admit(run, cancellationToken);
        }
        else
        {
            run.Begin();
        }

        return run;
    }

    /// <summary>A task whose worker type no executor of the dispatcher provides could never run: refused before the run
    /// starts, naming the worker, the task and where the plan has it (its first task of that type).</summary>
    private void CheckDispatched(ITaskDispatcher dispatcher)
    {
        List<PlanError>? errors = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var tasks = Definition.Tasks;
        for (var i = 0; i < tasks.Count; i++)
        {
            var worker = tasks[i].Worker;
            if (seen.Add(worker) && !dispatcher.Provides(worker))
            {
                (errors ??= []).Add(Definition.SourceMap.ValueError(PlanError.UnknownWorkerCode, $"tasks[{i}].worker",
                    $"task '{Plans.DisplayText.Shorten(tasks[i].Id)}': no executor of the cluster provides worker '{worker}' (start a silo whose plugins.json loads it)", tasks[i].Id));
            }
        }

        if (errors is not null)
        {
            throw new PlanValidationException(errors);
        }
    }

    /// <summary>
    /// The plan as a Dataflow block: each item is one run's inputs (<see cref="RunOptions.Inputs"/>), and each run's
    /// result comes out. Items stream through the plan's stages as linked <c>TransformBlock</c>s pipeline theirs, up
    /// to <see cref="PlanBlockOptions.MaxConcurrentRuns"/> at once over the block's pool; a producer that uses
    /// <c>SendAsync</c> waits when <see cref="PlanBlockOptions.BoundedCapacity"/> items are in the block. Completion
    /// and faults follow the Dataflow rules: <c>Complete()</c> lets the items in flight finish; an item whose run
    /// cannot start (its inputs do not fit the plan) faults the block. A run that fails is a result, not a fault.
    /// </summary>
    /// <param name="options">Capacity, concurrency, order, pool and cancellation.</param>
    /// <returns>The block.</returns>
    public IPropagatorBlock<IReadOnlyDictionary<string, System.Text.Json.JsonElement>, RunResult> AsBlock(PlanBlockOptions? options) =>
        PlanBlock.Create<IReadOnlyDictionary<string, System.Text.Json.JsonElement>>(this, PlanBlock.ForInputs, options);

    /// <summary>The plan as a Dataflow block with the default options (see <see cref="AsBlock(PlanBlockOptions?)"/>).</summary>
    /// <returns>The block.</returns>
    public IPropagatorBlock<IReadOnlyDictionary<string, System.Text.Json.JsonElement>, RunResult> AsBlock() => AsBlock(null);

    /// <summary>The plan as a Dataflow block over items of your own: <paramref name="optionsFor"/> makes each item's
    /// run options (its inputs, say); otherwise as <see cref="AsBlock(PlanBlockOptions?)"/>.</summary>
    /// <typeparam name="TInput">The items.</typeparam>
    /// <param name="optionsFor">An item's run options.</param>
    /// <param name="options">Capacity, concurrency, order, pool and cancellation.</param>
    /// <returns>The block.</returns>
    public IPropagatorBlock<TInput, RunResult> AsBlock<TInput>(Func<TInput, RunOptions> optionsFor, PlanBlockOptions? options) =>
        PlanBlock.Create(this, optionsFor, options);

    /// <summary>Runs the plan to the end.</summary>
    /// <param name="options">The run's settings.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>The run's result. A cancelled run returns normally with <see cref="RunStatus.Cancelled"/>.</returns>
    /// <exception cref="PlanValidationException">The run's inputs do not fit the plan (thrown before anything starts).</exception>
    /// <remarks>Disposing the result gives the run's per-task arrays back to this plan, for its next run to take
    /// instead of allocating them (unless <see cref="RunOptions.Pool"/> or <see cref="RunOptions.Dispatcher"/> is set);
    /// read what you need of the result first (<see cref="RunResult.Dispose"/>).</remarks>
    public Task<RunResult> RunAsync(RunOptions? options = null, CancellationToken cancellationToken = default) =>
        StartRun(options, true, cancellationToken).Completion;
}
