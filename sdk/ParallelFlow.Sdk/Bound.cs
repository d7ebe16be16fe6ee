using System.Text.Json;

namespace ParallelFlow.Sdk;

/// <summary>Parameters as one worker, scorer or merger bound them. The engine passes this back in the request; only
/// the instance that bound it takes it (another, handed the same request, binds from <c>With</c> itself), so a value
/// bound for one merger never reaches another that happens to use the same parameter type.</summary>
internal sealed class Bound(object binder, object? value)
{
    /// <summary>What is wrong with <paramref name="parameters"/>, read by <paramref name="bind"/>.</summary>
    public static IReadOnlyList<ParameterProblem> Problems<T>(JsonElement parameters, Func<ParameterReader, T> bind)
    {
        var reader = new ParameterReader(parameters);
        bind(reader);
        return reader.Finish();
    }

    /// <summary>The parameters bound for <paramref name="binder"/>, or null when they have problems.</summary>
    public static object? Bind<T>(object binder, JsonElement parameters, Func<ParameterReader, T> bind)
    {
        var reader = new ParameterReader(parameters);
        var value = bind(reader);
        return reader.Finish().Count == 0 ? new Bound(binder, value) : null;
    }

    /// <summary>The value <paramref name="binder"/> bound, when <paramref name="parameters"/> holds one it bound.</summary>
    public static bool TryGet<T>(object? parameters, object binder, out T value)
    {
        if (parameters is Bound bound && ReferenceEquals(bound._binder, binder) && bound._value is T typed)
        {
            value = typed;
            return true;
        }

        value = default!;
        return false;
    }

    private readonly object _binder = binder;
    private readonly object? _value = value;

    /// <summary>Binds where the engine did not (a call from a test, or from another plugin through
    /// <see cref="ITaskServices"/>): on the spot, and refused when wrong.</summary>
    public static T From<T>(JsonElement parameters, Func<ParameterReader, T> bind)
    {
        var reader = new ParameterReader(parameters);
        var value = bind(reader);
        var problems = reader.Finish();
        return problems.Count == 0 ? value : throw new FatalTaskException($"invalid parameters: {string.Join("; ", problems.Select(p => p.Message))}");
    }
}
