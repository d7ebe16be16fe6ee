namespace ParallelFlow.Engine.Plans;

/// <summary>The text format of a plan or config file.</summary>
public enum PlanFormat
{
    /// <summary>JSON, comments and trailing commas allowed.</summary>
    Json,

    /// <summary>YAML 1.2, one document.</summary>
    Yaml,
}
