namespace ParallelFlow.Engine.Workers;

/// <summary>The wording the built-in workers share for problems with their parameters.</summary>
internal static class ParameterMessages
{
    public static string Unknown(string name, string[] known) =>
        Sdk.Suggestions.Closest(name, known) is { } suggestion
            ? $"unknown parameter '{name}'. Did you mean '{suggestion}'?"
            : $"unknown parameter '{name}'. Known parameters: {string.Join(", ", known)}";

    /// <summary>
    /// Checks that a scorer or merger named in a task exists and lets it check its own parameters; problems are keyed
    /// by <paramref name="key"/> (the name) and <paramref name="parametersKey"/> (its parameters).
    /// </summary>
    public static void CheckPart(
        string kind,
        string key,
        string name,
        IReadOnlyList<string> known,
        Func<IReadOnlyList<Sdk.ParameterProblem>>? validate,
        string parametersKey,
        List<Sdk.ParameterProblem> problems)
    {
        if (validate is null)
        {
            var hint = Sdk.Suggestions.Closest(name, known) is { } suggestion
                ? $" Did you mean '{suggestion}'?"
                : known.Count == 0 ? $" No {kind} is loaded: list a plugin that registers {kind}s in plugins.json (parallelflow plugins shows what loaded)." : $" Known {kind}s: {string.Join(", ", known)}";
            problems.Add(new Sdk.ParameterProblem(key, $"unknown {kind} '{name}'.{hint}"));
            return;
        }

        try
        {
            foreach (var problem in validate())
            {
                problems.Add(new Sdk.ParameterProblem(problem.Key is null ? parametersKey : $"{parametersKey}.{problem.Key}", $"{kind} '{name}': {problem.Message}"));
            }
        }
#pragma warning disable CA1031 // A plugin's validation bug is reported against the plan.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            problems.Add(new Sdk.ParameterProblem(parametersKey, $"{kind} '{name}' failed to check the parameters: {ex.Message}"));
        }
    }
}
