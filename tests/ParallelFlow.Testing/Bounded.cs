namespace ParallelFlow.Testing;

/// <summary>Bounds every await in a test, so a hang fails fast with a message instead of stalling CI.</summary>
public static class Bounded
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Limit);

    public static Task Within(this Task task) => task.WaitAsync(Limit);
}
