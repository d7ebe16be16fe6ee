namespace ParallelFlow.Engine.Plans;

/// <summary>One problem found in a plan: what, where (file, line, column) and which task.</summary>
/// <param name="Code">A stable code, for example <c>PF0002</c> for an unknown key.</param>
/// <param name="Message">What is wrong, in words that name the key, value or task involved.</param>
/// <param name="Source">The file the plan came from, or the name a host gave it.</param>
/// <param name="Position">Where in the file, when the plan came from a file.</param>
/// <param name="TaskId">The task the problem belongs to, when it belongs to one.</param>
/// <param name="IsWarning">A warning does not stop the plan from running.</param>
public sealed record PlanError(string Code, string Message, string? Source, SourcePosition? Position, string? TaskId, bool IsWarning = false)
{
    internal const string SyntaxCode = "PF0001";
    internal const string UnknownKeyCode = "PF0002";
    internal const string WrongTypeCode = "PF0003";
    internal const string MissingCode = "PF0004";
    internal const string DuplicateIdCode = "PF0005";
    internal const string UnknownDependencyCode = "PF0006";
    internal const string CycleCode = "PF0007";
    internal const string UnknownWorkerCode = "PF0008";
    internal const string OutOfRangeCode = "PF0009";
    internal const string InvalidValueCode = "PF0010";
    internal const string WorkerParameterCode = "PF0011";
    internal const string DuplicateKeyCode = "PF0012";
    internal const string UnknownStrategyCode = "PF0013";
    internal const string InputCode = "PF0014";

    internal static PlanError Syntax(string source, SourcePosition position, string message) =>
        new(SyntaxCode, message, source, position, null);

    /// <summary>Formats the problem the way compilers do: <c>file(line,col): error PF0002: message</c>.</summary>
    /// <returns>The formatted problem.</returns>
    public override string ToString()
    {
        var where = Source is null ? string.Empty : Position is { } p ? $"{Source}({p.Line},{p.Column}): " : $"{Source}: ";
        return $"{where}{(IsWarning ? "warning" : "error")} {Code}: {Message}";
    }
}
