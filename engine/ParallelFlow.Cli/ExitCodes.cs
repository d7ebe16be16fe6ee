namespace ParallelFlow.Cli;

/// <summary>The exit codes of the parallelflow command.</summary>
internal static class ExitCodes
{
    /// <summary>Every task succeeded (or, for validate and plan, the plan is valid).</summary>
    public const int Success = 0;

    /// <summary>Some task did not succeed.</summary>
    public const int TasksFailed = 1;

    /// <summary>The plan or the command line is invalid.</summary>
    public const int InvalidInput = 2;

    /// <summary>The run was cancelled (Ctrl+C), as shells report SIGINT.</summary>
    public const int Cancelled = 130;
}
