using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Workers;

/// <summary>The workers, scorers and mergers a host can run, by name: the built-in ones and those plugins registered.</summary>
/// <remarks>Fill it before compiling plans: an engine freezes its catalog when it compiles its first plan, and from
/// then on the catalog is read without locks while runs are going, and registering throws.</remarks>
public sealed class WorkerCatalog
{
    private readonly Dictionary<string, ParallelFlowWorker> _workers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ParallelFlowScorer> _scorers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ParallelFlowMerger> _mergers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ParallelFlowStrategy> _strategies = new(StringComparer.Ordinal);

    /// <summary>What voting and sectioning requests leave unsaid: the workers, scorers and mergers they use by default.</summary>
    /// <value><see cref="StageDefaults.Default"/>, which names the repository's plugins.</value>
    public StageDefaults StageDefaults
    {
        get => _stageDefaults;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            ThrowIfFrozen("the stage defaults");
            _stageDefaults = value;
        }
    }

    private StageDefaults _stageDefaults = StageDefaults.Default;

    /// <summary>The names of the registered workers, sorted.</summary>
    public IReadOnlyList<string> WorkerNames => [.. _workers.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Names of the registered scorers, sorted.</summary>
    public IReadOnlyList<string> ScorerNames => [.. _scorers.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Names of the registered mergers, sorted.</summary>
    public IReadOnlyList<string> MergerNames => [.. _mergers.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The names of the scheduling strategies: the built-in ones, then those plugins registered, sorted.</summary>
    public IReadOnlyList<string> StrategyNames => [.. Plans.SchedulingStrategies.BuiltIn, .. _strategies.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Registers a worker.</summary>
    /// <param name="name">The name plans use.</param>
    /// <param name="worker">The worker.</param>
    /// <exception cref="InvalidOperationException">The name is already taken.</exception>
    public void AddWorker(string name, ParallelFlowWorker worker) => Add(_workers, "worker", name, worker);

    /// <summary>Registers a scorer.</summary>
    /// <param name="name">The name vote tasks use.</param>
    /// <param name="scorer">The scorer.</param>
    /// <exception cref="InvalidOperationException">The name is already taken.</exception>
    public void AddScorer(string name, ParallelFlowScorer scorer) => Add(_scorers, "scorer", name, scorer);

    /// <summary>Registers a merger.</summary>
    /// <param name="name">The name section tasks use.</param>
    /// <param name="merger">The merger.</param>
    /// <exception cref="InvalidOperationException">The name is already taken.</exception>
    public void AddMerger(string name, ParallelFlowMerger merger) => Add(_mergers, "merger", name, merger);

    /// <summary>Registers a scheduling strategy.</summary>
    /// <param name="name">The name plans and runs use.</param>
    /// <param name="strategy">The strategy.</param>
    /// <exception cref="InvalidOperationException">The name is already taken, or is a built-in strategy's.</exception>
    public void AddStrategy(string name, ParallelFlowStrategy strategy)
    {
        if (Plans.SchedulingStrategies.Parse(name) is not null)
        {
            throw new InvalidOperationException($"'{name}' is a built-in strategy's name.");
        }

        Add(_strategies, "strategy", name, strategy);
    }

    /// <summary>Whether a strategy has this name, and the plugin's instance when it is not a built-in one.</summary>
    /// <param name="name">The strategy's name.</param>
    /// <param name="strategy">The plugin's strategy; null for a built-in one.</param>
    /// <returns>Whether the name is known.</returns>
    public bool TryGetStrategy(string name, out ParallelFlowStrategy? strategy)
    {
        strategy = null;
        return Plans.SchedulingStrategies.Parse(name) is not null || _strategies.TryGetValue(name, out strategy);
    }

    /// <summary>Declares an environment variable whose value is a secret: its value is replaced by <c>***</c> in task
    /// outputs, errors, events, logs, reports and the journal of every run of this catalog's engines.</summary>
    /// <param name="name">The variable's name.</param>
    public void AddSecretVariable(string name) => Secrets.AddVariable(name);

    /// <summary>The environment variables declared secret, by plugins and by the host.</summary>
    public IReadOnlyCollection<string> SecretVariables => Secrets.Variables;

    internal Diagnostics.SecretRedactor Secrets { get; } = new();

    /// <summary>How long the built-in vote and section workers give a cancelled candidate or section to return: the
    /// grace period of the engine made with this catalog (<see cref="EngineOptions.CancellationGracePeriod"/>).</summary>
    internal TimeSpan CancellationGracePeriod { get; set; } = CancellationGrace.Default;

    /// <summary>Says what is wrong with a strategy name: null when it is known, else a message listing the known names
    /// and the closest one.</summary>
    /// <param name="name">The name a plan or a run gave.</param>
    /// <returns>The problem, or null.</returns>
    internal string? StrategyProblem(string name)
    {
        if (TryGetStrategy(name, out _))
        {
            return null;
        }

        var known = StrategyNames;
        var suggestion = Sdk.Suggestions.Closest(name, known);
        return $"unknown strategy '{name}'; known: {string.Join(", ", known)}{(suggestion is null ? "" : $". Did you mean '{suggestion}'?")}";
    }

    /// <summary>Finds a worker by name.</summary>
    /// <param name="name">The worker's name.</param>
    /// <param name="worker">The worker, when found.</param>
    /// <returns>Whether it was found.</returns>
    public bool TryGetWorker(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ParallelFlowWorker? worker) =>
        _workers.TryGetValue(name, out worker);

    /// <summary>Finds a scorer by name.</summary>
    /// <param name="name">The scorer's name.</param>
    /// <param name="scorer">The scorer, when found.</param>
    /// <returns>Whether it was found.</returns>
    public bool TryGetScorer(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ParallelFlowScorer? scorer) =>
        _scorers.TryGetValue(name, out scorer);

    /// <summary>Finds a merger by name.</summary>
    /// <param name="name">The merger's name.</param>
    /// <param name="merger">The merger, when found.</param>
    /// <returns>Whether it was found.</returns>
    public bool TryGetMerger(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ParallelFlowMerger? merger) =>
        _mergers.TryGetValue(name, out merger);

    /// <summary>Counts the tokens of a text, for <c>context</c> limits: about four characters a token
    /// (<see cref="Plans.ContextSettings.ApproximateTokens"/>) unless a plugin sets its model's own tokenizer here
    /// while it registers.</summary>
    public Func<string, int> TokenCounter
    {
        get => _tokenCounter;
        set => _tokenCounter = value ?? throw new ArgumentNullException(nameof(value));
    }

    private Func<string, int> _tokenCounter = Plans.ContextSettings.ApproximateTokens;

    /// <summary>Whether registering is over: an engine has compiled a plan with this catalog.</summary>
    public bool IsFrozen => Volatile.Read(ref _frozen);

    private bool _frozen;

    /// <summary>Ends registering: called by the engine before it compiles a plan with this catalog.</summary>
    internal void Freeze() => Volatile.Write(ref _frozen, true);

    /// <summary>Adds scorers, mergers, strategies and secret variables made elsewhere: a plugin's, or another catalog's.</summary>
    internal void AddParts(
        IEnumerable<KeyValuePair<string, ParallelFlowScorer>> scorers,
        IEnumerable<KeyValuePair<string, ParallelFlowMerger>> mergers,
        IEnumerable<KeyValuePair<string, ParallelFlowStrategy>> strategies,
        IEnumerable<string> secretVariables)
    {
        foreach (var variable in secretVariables)
        {
            AddSecretVariable(variable);
        }

        foreach (var (name, scorer) in scorers)
        {
            AddScorer(name, scorer);
        }

        foreach (var (name, merger) in mergers)
        {
            AddMerger(name, merger);
        }

        foreach (var (name, strategy) in strategies)
        {
            AddStrategy(name, strategy);
        }
    }

    /// <summary>Every worker, scorer, merger and plugin strategy by name, for a catalog made from this one
    /// (<see cref="BuiltInWorkers.Restricted"/>).</summary>
    internal (IReadOnlyDictionary<string, ParallelFlowWorker> Workers, IReadOnlyDictionary<string, ParallelFlowScorer> Scorers,
        IReadOnlyDictionary<string, ParallelFlowMerger> Mergers, IReadOnlyDictionary<string, ParallelFlowStrategy> Strategies) Contents =>
        (_workers, _scorers, _mergers, _strategies);

    private void ThrowIfFrozen(string what)
    {
        if (IsFrozen)
        {
            throw new InvalidOperationException($"The catalog is frozen: an engine has compiled a plan with it. Set {what} before the first plan is compiled.");
        }
    }

    private void Add<T>(Dictionary<string, T> registry, string kind, string name, T item)
        where T : class
    {
        ThrowIfFrozen($"every {kind}");
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(item);
        if (!registry.TryAdd(name, item))
        {
            throw new InvalidOperationException($"A {kind} named '{name}' is already registered.");
        }
    }
}
