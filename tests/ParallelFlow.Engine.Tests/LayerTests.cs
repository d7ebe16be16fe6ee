using System.Text.RegularExpressions;

namespace ParallelFlow.Engine.Tests;

/// <summary>The layers of docs/architecture.md, held: the engine references no plugin, no model and no web server,
/// its code names no plugin's worker, scorer or merger outside the settings that default to them, and its namespaces
/// use only the layers below their own.</summary>
public sealed partial class LayerTests
{
    [Fact]
    public void TheEngine_ReferencesNoPlugin_NoModel_AndNoWebServer()
    {
        var references = typeof(ParallelFlowEngine).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();

        Assert.DoesNotContain(references, name => name.StartsWith("ParallelFlow.Plugins", StringComparison.Ordinal));
        Assert.DoesNotContain(references, name => name.StartsWith("ParallelFlow.LocalModel", StringComparison.Ordinal));
        Assert.DoesNotContain(references, name => name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.Contains("ParallelFlow.Sdk", references);
    }

    [Fact]
    public void TheEnginesCode_NamesNoPluginsWorkerScorerOrMerger_OutsideItsStageDefaults()
    {
        // The names the repository's plugins register; the built-in vote, section, simulate and template are the engine's own.
        var names = new[] { "llm", "embed", "process", "greet", "concat", "lines", "json", "imports", "files", "test-reports", "weighted", "consensus", "pareto", "synthesis", "shortest" };
        var engine = Path.Combine(RepositoryRoot.Path, "engine", "ParallelFlow.Engine");
        var offenders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(engine, "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                                 && Path.GetFileName(f) != "StageDefaults.cs"))
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                var code = lines[i].TrimStart();
                if (code.StartsWith("//", StringComparison.Ordinal))
                {
                    continue;
                }

                foreach (Match literal in StringLiteral().Matches(code))
                {
                    if (Array.IndexOf(names, literal.Groups[1].Value) >= 0)
                    {
                        offenders.Add($"{Path.GetRelativePath(engine, file)}:{i + 1}: {literal.Value}");
                    }
                }
            }
        }

        // Decomposers and report fields may use the same words for their own things; each is listed here on purpose.
        var named = offenders.Where(o => !Allowed(o)).ToList();
        Assert.True(named.Count == 0, "plugin names in the engine:\n" + string.Join("\n", named));
    }

    /// <summary>Uses of these words that are not a plugin's name: the sectioning decomposers <c>lines</c>, <c>json</c>
    /// and <c>files</c>, the plan renderer's <c>json</c> format, and a decision record's <c>output_from: synthesis</c>.</summary>
    private static bool Allowed(string offender) =>
        offender.StartsWith($"Sectioning{Path.DirectorySeparatorChar}Decomposer.cs", StringComparison.Ordinal)
        || (offender.StartsWith($"Reporting{Path.DirectorySeparatorChar}PlanRenderer.cs", StringComparison.Ordinal) && offender.EndsWith("\"json\"", StringComparison.Ordinal))
        || (offender.StartsWith($"Voting{Path.DirectorySeparatorChar}VoteRecord.cs", StringComparison.Ordinal) && offender.EndsWith("\"synthesis\"", StringComparison.Ordinal));

    /// <summary>The engine's namespaces from the bottom up (docs/architecture.md draws them). A namespace may use those in
    /// the layers below its own, never one beside or above it, so the layers form no cycle.</summary>
    private static readonly string[][] Layers =
    [
        ["Diagnostics"],                 // secrets and their redaction, JSON the engine writes itself
        ["Plans"],                       // the immutable plan model, its readers, builder and rules
        ["Analysis"],                    // waves, critical path, list-scheduling simulation
        ["Workers"],                     // the catalog, stage defaults, the simple built-in workers, calling a worker
        ["Voting", "Sectioning"],        // the two stages, each a worker over the catalog
        ["Requests", "Replay", "Plugins"], // front ends that make plans, and plugin loading into the catalog
        ["Execution"],                   // compiled plans, the scheduler, executors, journal and cache seams
        ["Reporting"],                   // run reports and plan renderings
        [""],                            // ParallelFlow.Engine itself: the engine, its options, the loader, the built-in catalog
    ];

    [Fact]
    public void TheEnginesNamespaces_FormLayers_WithoutCycles()
    {
        const string Root = "ParallelFlow.Engine";
        var graph = NamespaceGraph.Read(typeof(ParallelFlowEngine).Assembly.Location, Root);

        Assert.DoesNotContain(graph.Keys, ns => LayerOf(ns, Root, Layers) is null);
        var upward = UsesNotBelow(graph, Root, Layers);
        Assert.True(upward.Count == 0, string.Join("\n", upward));
        Assert.Empty(NamespaceGraph.Cycles(graph));
    }

    /// <summary>Every use of a namespace in the same layer or one above; empty when the graph keeps the layers.</summary>
    private static List<string> UsesNotBelow(SortedDictionary<string, SortedDictionary<string, List<string>>> graph, string root, string[][] layers)
    {
        var upward = new List<string>();
        foreach (var (from, edges) in graph)
        {
            foreach (var (to, uses) in edges.Where(e => LayerOf(e.Key, root, layers) >= LayerOf(from, root, layers)))
            {
                upward.Add($"{from} uses {to}, which is not below it: {string.Join("; ", uses.Distinct().Take(3))}");
            }
        }

        return upward;
    }

    private static int? LayerOf(string ns, string root, string[][] layers)
    {
        for (var layer = 0; layer < layers.Length; layer++)
        {
            if (layers[layer].Any(name => (name.Length == 0 ? root : $"{root}.{name}") == ns))
            {
                return layer;
            }
        }

        return null;
    }

    [Fact]
    public void EverySourceAssembly_HasATestProjectOfItsOwn()
    {
        var solution = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "ParallelFlow.sln"));
        var projects = ProjectPath().Matches(solution).Select(m => m.Groups[1].Value.Replace('\\', '/')).ToList();
        var sources = projects.Where(p => !p.StartsWith("tests/", StringComparison.Ordinal) && !p.StartsWith("benchmarks/", StringComparison.Ordinal) && !p.StartsWith("examples/", StringComparison.Ordinal))
            .Select(p => Path.GetFileNameWithoutExtension(p)).ToList();
        var tests = projects.Where(p => p.StartsWith("tests/", StringComparison.Ordinal)).Select(p => Path.GetFileNameWithoutExtension(p)).ToHashSet();

        Assert.Contains("ParallelFlow.Engine", sources);
        Assert.DoesNotContain(sources, source => !tests.Contains(source + ".Tests"));
    }

    [GeneratedRegex("\"([^\"]+\\.csproj)\"")]
    private static partial Regex ProjectPath();

    [Fact]
    public void TheNamespaceGraph_FindsUsesInMethodBodies_AndReportsCycles()
    {
        // This test assembly's own namespaces: the tests use their support code (in a method body, with no field or
        // signature naming it), and the support code never uses a test.
        var graph = NamespaceGraph.Read(typeof(LayerTests).Assembly.Location, "ParallelFlow.Engine.Tests");
        Assert.Contains("ParallelFlow.Engine.Tests.Support", graph["ParallelFlow.Engine.Tests.Execution"].Keys);

        var cyclic = new SortedDictionary<string, SortedDictionary<string, List<string>>>(StringComparer.Ordinal)
        {
            ["A"] = new(StringComparer.Ordinal) { ["B"] = ["a use"] },
            ["B"] = new(StringComparer.Ordinal) { ["C"] = ["a use"] },
            ["C"] = new(StringComparer.Ordinal) { ["A"] = ["a use"] },
            ["D"] = new(StringComparer.Ordinal) { ["A"] = ["a use"] },
        };
        Assert.Equal([["A", "B", "C"]], NamespaceGraph.Cycles(cyclic));

        // The layer check on a made-up engine: Plans using Execution points up, and is named with its use.
        var upward = new SortedDictionary<string, SortedDictionary<string, List<string>>>(StringComparer.Ordinal)
        {
            ["R.Execution"] = new(StringComparer.Ordinal) { ["R.Plans"] = ["a run reads its plan"] },
            ["R.Plans"] = new(StringComparer.Ordinal) { ["R.Execution"] = ["a plan starts a run"] },
        };
        Assert.Equal(["R.Plans uses R.Execution, which is not below it: a plan starts a run"], UsesNotBelow(upward, "R", [["Plans"], ["Execution"]]));
    }

    [GeneratedRegex("\"([a-z][a-z-]*)\"")]
    private static partial Regex StringLiteral();
}
