using System.Text.Json;
using System.Xml.Linq;

namespace ParallelFlow.Cli.Tests;

/// <summary>The sectioning stage end to end through the real command, with real processes and real test projects.</summary>
public sealed class SectioningCommandTests
{
    [Fact]
    public async Task The_test_suite_example_runs_test_projects_as_sections_and_aggregates_their_reports()
    {
        // examples/test-suite.json, pointed at two small fixture test projects instead of this repository.
        var folder = Directory.CreateTempSubdirectory("parallelflow-suite-").FullName;
        var results = Path.Combine(folder, "results");
        var plan = File.ReadAllText(Path.Combine(CliProcess.RepositoryRoot, "examples/test-suite.json"))
            .Replace("ParallelFlow.sln", "tests/Fixtures/TestProjects/Fixture.sln", StringComparison.Ordinal)
            .Replace("artifacts/test-suite", results, StringComparison.Ordinal);
        var planPath = Path.Combine(folder, "test-suite.json");
        File.WriteAllText(planPath, plan);
        var report = Path.Combine(folder, "report.json");

        var (exitCode, output, error) = await CliProcess.RunAsync("run", planPath, "--report", report);

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

    [Fact]
    public async Task A_sectioning_request_runs_as_it_is()
    {
        var folder = Directory.CreateTempSubdirectory("parallelflow-sectioning-").FullName;
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
