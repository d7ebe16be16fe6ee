using System.Text.Json;
using System.Xml.Linq;

namespace ParallelFlow.Cli.Tests;

/// <summary>The sectioning stage end to end through the real command, with real processes and real test projects.</summary>
public sealed class SectioningCommandTests
{
    [Fact]
    public async Task The_test_suite_example_runs_test_projects_as_sections_and_aggregates_their_reports()
    {
        // examples/test-suite.json, pointed at a fresh copy of two small fixture test projects: what the nested build
        // writes stays in the copy, so a build cut short leaves nothing half-written in the repository for later runs.
        using var folderScratch = new TempFolder("parallelflow-suite-");
        var folder = folderScratch.Path;
        var solution = CopyFixtureProjects(Path.Combine(folder, "tests"));
        var results = Path.Combine(folder, "results");
        var plan = File.ReadAllText(Path.Combine(CliProcess.RepositoryRoot, "examples/test-suite.json"))
            .Replace("ParallelFlow.sln", solution, StringComparison.Ordinal)
            .Replace("artifacts/test-suite", results, StringComparison.Ordinal);
        var planPath = Path.Combine(folder, "test-suite.json");
        File.WriteAllText(planPath, plan);
        var report = Path.Combine(folder, "report.json");

        var (exitCode, output, error) = await CliProcess.RunLongAsync(TimeSpan.FromMinutes(8), "run", planPath, "--report", report);

        Assert.True(exitCode == 0, error + output);
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        var tests = json.RootElement.GetProperty("results").EnumerateArray().Single(r => r.GetProperty("id").GetString() == "tests");
        Assert.StartsWith("5 tests in 2 suites: 3 passed, 1 failed, 1 skipped", tests.GetProperty("output").GetString(), StringComparison.Ordinal);
        Assert.Contains("FAILED Beta.Tests :: Beta.Tests.TextTests.Reverses", tests.GetProperty("output").GetString(), StringComparison.Ordinal);
        var record = tests.GetProperty("decision");
        Assert.Equal((2, 2), (record.GetProperty("sections").GetInt32(), record.GetProperty("succeeded").GetInt32()));
        Assert.True(record.GetProperty("speedup").GetDouble() > 0);
        var junit = XDocument.Load(Path.Combine(results, "all.junit.xml")).Root!;
        Assert.Equal(("5", "1", "1"), ((string)junit.Attribute("tests")!, (string)junit.Attribute("failures")!, (string)junit.Attribute("skipped")!));
        Assert.Contains("Sections tests (test-reports): 2 of 2 merged", output, StringComparison.Ordinal);
    }

    /// <summary>Copies the fixture solution, without build output, beside the repository's build settings (its folder
    /// is named tests/ so the settings treat it as test code). Returns the copied solution.</summary>
    private static string CopyFixtureProjects(string target)
    {
        var source = Path.Combine(CliProcess.RepositoryRoot, "tests/Fixtures/TestProjects");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(target, relative))!);
            File.Copy(file, Path.Combine(target, relative));
        }

        foreach (var settings in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json" })
        {
            File.Copy(Path.Combine(CliProcess.RepositoryRoot, settings), Path.Combine(Path.GetDirectoryName(target)!, settings));
        }

        return Path.Combine(target, "Fixture.sln");
    }

    [Fact]
    public async Task A_sectioning_request_runs_as_it_is()
    {
        using var folderScratch = new TempFolder("parallelflow-sectioning-");
        var folder = folderScratch.Path;
        var request = Path.Combine(folder, "request.json");
        File.WriteAllText(request, """
            {
              "task_id": "greetings",
              "mode": "sectioning",
              "main_task": { "description": "Say hello to each part", "components": ["api", { "name": "ui", "description": "the web front end" }] },
              "worker": "process",
              "with": { "command": "echo", "args": ["hello {{section_name}}: {{section}}"] },
              "parallelism_hint": 2,
              "timeout_seconds": 60
            }
            """);
        var report = Path.Combine(folder, "report.json");

        var (exitCode, output, error) = await CliProcess.RunAsync("run", request, "--report", report);

        Assert.True(exitCode == 0, error + output);
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        Assert.Equal(("greetings", "sectioning"), (json.RootElement.GetProperty("task_id").GetString(), json.RootElement.GetProperty("mode").GetString()));
        Assert.Equal("hello api: api\nhello ui: the web front end", json.RootElement.GetProperty("results")[0].GetProperty("output").GetString());
    }
}
