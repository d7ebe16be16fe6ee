using System.Text.Json;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Merging.Tests;

internal static class Sections
{
    public static MergeRequest Request(string with, params (string Name, string Text)[] sections) => new()
    {
        TaskId = "merge",
        With = JsonDocument.Parse(with).RootElement,
        Sections = [.. sections.Select(s => new SectionOutput(s.Name, TaskResult.FromText(s.Text)))],
    };

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);
}
