using System.Text.Json;
using System.Xml.Linq;
using ParallelFlow.Sdk;
using static ParallelFlow.Plugins.Merging.Tests.Sections;

namespace ParallelFlow.Plugins.Merging.Tests;

public sealed class MergerTests
{
    [Fact]
    public async Task Concat_keeps_section_order_under_headers()
    {
        var result = await new ConcatMerger().MergeAsync(Request("""{ "header": "## {name}", "separator": "\n\n" }""", ("b", "second"), ("a", "first")), default);

        Assert.Equal("## b\nsecond\n\n## a\nfirst", result.Output.Text);
        Assert.Empty(result.Conflicts);
    }

    [Fact]
    public async Task Lines_keeps_each_line_once_and_reports_what_overlapped()
    {
        var merged = await new LinesMerger().MergeAsync(new MergeRequest
        {
            TaskId = "sections",
            Sections = [new("a", TaskResult.FromText("using System;\nclass A {}")), new("b", TaskResult.FromText("using System;\nclass B {}"))],
        }, default);

        Assert.Equal("using System;\nclass A {}\nclass B {}", merged.Output.Text);
        var conflict = Assert.Single(merged.Conflicts);
        Assert.Equal(("b: 'using System;'", "also produced by a; kept once", true), (conflict.Location, conflict.Description, conflict.Resolved));
    }

    [Fact]
    public async Task Json_merges_deeply_and_reports_each_conflicting_path()
    {
        var request = Request("{}",
            ("base", """{ "server": { "host": "a", "port": 80 }, "tags": ["x"] }"""),
            ("tls", """{ "server": { "port": 443, "tls": true }, "tags": ["x", "y"] }"""));

        var result = await new JsonMerger().MergeAsync(request, default);

        Assert.Equal("""{"server":{"host":"a","port":80,"tls":true},"tags":["x","y"]}""", result.Output.Json!.Value.GetRawText());
        var conflict = Assert.Single(result.Conflicts);
        Assert.Equal("$.server.port", conflict.Location);
        Assert.Equal("base has 80, tls has 443; kept base's until reviewed", conflict.Description);
        Assert.False(conflict.Resolved);
    }

    [Theory]
    [InlineData("prefer_last", 443, true)]
    [InlineData("prefer_first", 80, true)]
    public async Task Json_policies_choose_a_side_and_still_report(string policy, int port, bool resolved)
    {
        var request = Request($$"""{ "policy": "{{policy}}" }""", ("a", """{ "port": 80 }"""), ("b", """{ "port": 443 }"""));

        var result = await new JsonMerger().MergeAsync(request, default);

        Assert.Equal(port, result.Output.Json!.Value.GetProperty("port").GetInt32());
        Assert.Equal(resolved, Assert.Single(result.Conflicts).Resolved);
    }

    [Fact]
    public async Task Json_policy_fail_names_the_conflicts()
    {
        var request = Request("""{ "policy": "fail" }""", ("a", """{ "port": 80 }"""), ("b", """{ "port": 443 }"""));

        var error = await Assert.ThrowsAsync<FatalTaskException>(async () => await new JsonMerger().MergeAsync(request, default));

        Assert.Equal("1 merge conflict(s): $.port: a has 80, b has 443; kept a's until reviewed", error.Message);
    }

    [Fact]
    public async Task CSharp_usings_are_hoisted_once_with_System_first()
    {
        var request = Request("{}",
            ("one", "using Xunit;\nusing System.Text;\n\npublic class A { }"),
            ("two", "using System;\nusing Xunit;\nusing static System.Math;\n\npublic class B { }"));

        var result = await new ImportsMerger().MergeAsync(request, default);

        Assert.Equal("using System;\nusing System.Text;\nusing Xunit;\nusing static System.Math;\n\npublic class A { }\npublic class B { }\n", result.Output.Text);
    }

    [Fact]
    public async Task Python_from_imports_of_one_module_are_combined()
    {
        var request = Request("""{ "language": "python" }""",
            ("one", "import os\nfrom typing import List\n\ndef a(): pass"),
            ("two", "from typing import Dict, List\nimport os\n\ndef b(): pass"));

        var result = await new ImportsMerger().MergeAsync(request, default);

        Assert.Equal("import os\nfrom typing import Dict, List\n\ndef a(): pass\ndef b(): pass\n", result.Output.Text);
    }

    [Fact]
    public async Task TypeScript_named_imports_combine_and_an_alias_clash_is_a_conflict()
    {
        var request = Request("""{ "language": "typescript" }""",
            ("one", "import { a } from './x';\nimport u from 'lodash';\nexport const one = a;"),
            ("two", "import { b, a } from './x';\nimport u from 'underscore';\nexport const two = b;"));

        var result = await new ImportsMerger().MergeAsync(request, default);

        Assert.StartsWith("import { a, b } from './x';\nimport u from 'lodash';\n\n", result.Output.Text);
        var conflict = Assert.Single(result.Conflicts);
        Assert.Equal("import u", conflict.Location);
        Assert.Contains("one binds it to lodash (default), two to underscore (default)", conflict.Description);
    }

    [Fact]
    public async Task Files_changed_on_different_lines_merge_cleanly_against_the_base()
    {
        using var folder = new TempFolder();
        folder.Write("app.cfg", "a=1\nb=2\nc=3\nd=4\n");
        var request = Request($$"""{ "base_dir": "{{folder.Path}}" }""",
            ("top", """{ "files": { "app.cfg": "a=10\nb=2\nc=3\nd=4\n" } }"""),
            ("bottom", """{ "files": { "app.cfg": "a=1\nb=2\nc=3\nd=40\n", "new.txt": "hello\n" } }"""));

        var result = await new FilesMerger().MergeAsync(request, default);

        var files = result.Output.Json!.Value.GetProperty("files");
        Assert.Equal("a=10\nb=2\nc=3\nd=40\n", files.GetProperty("app.cfg").GetString());
        Assert.Equal("hello\n", files.GetProperty("new.txt").GetString());
        Assert.Empty(result.Conflicts);
    }

    [Fact]
    public async Task Files_changed_on_the_same_lines_conflict_per_hunk_with_markers()
    {
        using var folder = new TempFolder();
        folder.Write("app.cfg", "a=1\nb=2\nc=3\nd=4\ne=5\n");
        var output = System.IO.Path.Combine(folder.Path, "out");
        var request = Request($$"""{ "base_dir": "{{folder.Path}}", "output_dir": "{{output}}" }""",
            ("left", """{ "app.cfg": "a=1\nb=20\nc=3\nd=4\ne=50\n" }"""),
            ("right", """{ "app.cfg": "a=1\nb=21\nc=3\nd=4\ne=50\n" }"""));

        var result = await new FilesMerger().MergeAsync(request, default);

        var conflict = Assert.Single(result.Conflicts);
        Assert.Equal("app.cfg: lines 2-2", conflict.Location);
        Assert.False(conflict.Resolved);
        Assert.Equal("a=1\n<<<<<<< left\nb=20\n||||||| base\nb=2\n======= right\nb=21\n>>>>>>> right\nc=3\nd=4\ne=50\n", File.ReadAllText(System.IO.Path.Combine(output, "app.cfg")));
    }

    [Fact]
    public async Task Files_policy_prefer_last_resolves_the_hunk()
    {
        using var folder = new TempFolder();
        folder.Write("f.txt", "x\ny\n");
        var request = Request($$"""{ "base_dir": "{{folder.Path}}", "policy": "prefer_last" }""",
            ("one", """{ "f.txt": "x\ny1\n" }"""),
            ("two", """{ "f.txt": "x\ny2\n" }"""));

        var result = await new FilesMerger().MergeAsync(request, default);

        Assert.Equal("x\ny2\n", result.Output.Json!.Value.GetProperty("files").GetProperty("f.txt").GetString());
        Assert.True(Assert.Single(result.Conflicts).Resolved);
    }

    [Fact]
    public async Task Test_reports_from_junit_and_trx_aggregate_into_one_junit_file()
    {
        using var folder = new TempFolder();
        var junit = System.IO.Path.Combine(folder.Path, "all.xml");
        var request = Request($$"""{ "output_file": "{{junit}}" }""",
            ("parser", Fixture("unit.junit.xml")),
            ("engine", File.ReadAllText(Fixture("engine.trx"))),
            ("broken", "no report here"));

        var result = await new TestReportsMerger().MergeAsync(request, default);

        var summary = result.Output.Json!.Value;
        Assert.Equal((5, 2, 2, 1), (summary.GetProperty("tests").GetInt32(), summary.GetProperty("passed").GetInt32(), summary.GetProperty("failed").GetInt32(), summary.GetProperty("skipped").GetInt32()));
        Assert.StartsWith("5 tests in 2 suites: 2 passed, 2 failed, 1 skipped (1.3s)\n", result.Output.Text);
        Assert.Contains("FAILED engine :: Retries_twice: Assert.Equal() Failure: expected 2, actual 3", result.Output.Text);
        Assert.Contains("FAILED parser :: reads_strings: expected \"a\" but got \"b\"", result.Output.Text);
        var conflict = Assert.Single(result.Conflicts);
        Assert.Equal(("broken", false), (conflict.Location, conflict.Resolved));

        var written = XDocument.Load(junit).Root!;
        Assert.Equal(("5", "2", "1"), ((string)written.Attribute("tests")!, (string)written.Attribute("failures")!, (string)written.Attribute("skipped")!));
        var retry = written.Descendants("testcase").Single(c => (string)c.Attribute("name")! == "Retries_twice");
        Assert.Equal("Engine.RetryTests", (string)retry.Attribute("classname")!);
        Assert.Equal("Assert.Equal() Failure: expected 2, actual 3", (string)retry.Element("failure")!.Attribute("message")!);
    }

    [Fact]
    public void Unknown_merger_keys_are_found_at_validation()
    {
        var problems = new JsonMerger().ValidateParameters(JsonDocument.Parse("""{ "policy": "prefer_middle", "arays": "concat" }""").RootElement);

        Assert.Contains(problems, p => p.Key == "policy");
        Assert.Contains(problems, p => p.Key == "arays");
    }
}

internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("parallelflow-merge-").FullName;

    public void Write(string name, string content) => File.WriteAllText(System.IO.Path.Combine(Path, name), content);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
