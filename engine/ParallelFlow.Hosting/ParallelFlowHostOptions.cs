namespace ParallelFlow.Hosting;

/// <summary>ParallelFlow's settings in a host, bound from the <c>ParallelFlow</c> configuration section and checked
/// when the host starts: a mistake stops the start with a message naming the setting.</summary>
public sealed class ParallelFlowHostOptions
{
    /// <summary>The configuration section the settings are read from.</summary>
    public const string Section = "ParallelFlow";

    /// <summary>A plugins.json to load once, at start; relative paths are from the host's content root.</summary>
    public string? Plugins { get; set; }

    /// <summary>The run journal: a SQLite file (or a <c>Data Source=…</c> connection string), or a PostgreSQL database
    /// that several hosts share (<c>Host=…;Database=…</c> or <c>postgresql://…</c>, the password in <c>PGPASSWORD</c>);
    /// none records nothing.</summary>
    public string? Journal { get; set; }

    /// <summary>How many tasks run at once across every run of the host.</summary>
    public int Workers { get; set; } = Environment.ProcessorCount;

    /// <summary>The most tasks of one worker type at once across every run (<c>"llm": 4</c>).</summary>
    public Dictionary<string, int> Limits { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How many runs may be under way at once; more queue. Null: no limit.</summary>
    public int? MaxActiveRuns { get; set; }

    /// <summary>How many runs may queue before new ones are refused.</summary>
    public int MaxQueuedRuns { get; set; } = 1_000;

    /// <summary>The scheduling strategy of runs that name none; null keeps each plan's.</summary>
    public string? DefaultStrategy { get; set; }

    /// <summary>How long runs in flight get to stop when the host stops, in seconds.</summary>
    public double ShutdownGraceSeconds { get; set; } = 10;

    /// <summary>Plans compiled once at start and run by name (<c>"report": "plans/report.yaml"</c>).</summary>
    public Dictionary<string, string> Plans { get; set; } = new(StringComparer.Ordinal);
}
