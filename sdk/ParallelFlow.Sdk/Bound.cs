using System.Text.Json;

namespace ParallelFlow.Sdk;

/// <summary>Binding parameters where the engine did not (a call from a test, or from another plugin through
/// <see cref="ITaskServices"/>): bound on the spot, and refused when wrong.</summary>
internal static class Bound
{
    public static T From<T>(JsonElement parameters, Func<ParameterReader, T> bind)
    {
        var reader = new ParameterReader(parameters);
        var value = bind(reader);
        var problems = reader.Finish();
        return problems.Count == 0 ? value : throw new FatalTaskException($"invalid parameters: {string.Join("; ", problems.Select(p => p.Message))}");
    }
}
