namespace ParallelFlow.Engine.Workers;

/// <summary>The wording the built-in workers share for problems with their parameters.</summary>
internal static class ParameterMessages
{
    public static string Unknown(string name, string[] known) =>
        Plans.PlanBinder.Suggest(name, known) is { } suggestion
            ? $"unknown parameter '{name}'. Did you mean '{suggestion}'?"
            : $"unknown parameter '{name}'. Known parameters: {string.Join(", ", known)}";
}
