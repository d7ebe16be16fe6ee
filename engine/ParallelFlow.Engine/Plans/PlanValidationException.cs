namespace ParallelFlow.Engine.Plans;

/// <summary>Thrown when a plan cannot run. Carries every problem found, not just the first.</summary>
public sealed class PlanValidationException : Exception
{
    /// <summary>Creates the exception from the problems found.</summary>
    /// <param name="errors">Every problem found; warnings may be among them.</param>
    public PlanValidationException(IReadOnlyList<PlanError> errors)
        : base(Describe(errors))
    {
        Errors = errors;
    }

    /// <summary>Creates the exception with a message and no positioned errors.</summary>
    public PlanValidationException()
        : this([])
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public PlanValidationException(string message)
        : this([new PlanError(PlanError.InvalidValueCode, message, null, null, null)])
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public PlanValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [new PlanError(PlanError.InvalidValueCode, message, null, null, null)];
    }

    /// <summary>Every problem found, in file order.</summary>
    public IReadOnlyList<PlanError> Errors { get; } = [];

    private static string Describe(IReadOnlyList<PlanError> errors)
    {
        var count = errors.Count(e => !e.IsWarning);
        return count switch
        {
            0 => "The plan is not valid.",
            _ => $"The plan has {count} error{(count == 1 ? "" : "s")}:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}",
        };
    }
}
