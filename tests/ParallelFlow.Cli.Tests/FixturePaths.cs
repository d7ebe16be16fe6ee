namespace ParallelFlow.Cli.Tests;

internal static class FixturePaths
{
    public static string InFixtures(this string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);
}
