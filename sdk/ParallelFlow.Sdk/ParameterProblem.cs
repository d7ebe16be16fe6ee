namespace ParallelFlow.Sdk;

/// <summary>One thing wrong with the parameters a plan gives a worker.</summary>
/// <param name="Key">The parameter at fault, so the error can point at it; <see langword="null"/> for the whole <c>with</c> object.</param>
/// <param name="Message">What is wrong, for example <c>unknown parameter 'secnds'; did you mean 'seconds'?</c>.</param>
public sealed record ParameterProblem(string? Key, string Message);
