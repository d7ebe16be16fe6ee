using System.Text.RegularExpressions;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests;

/// <summary>The layers of docs/architecture.md, held: the engine references no plugin, no model and no web server,
/// and its code names no plugin's worker, scorer or merger outside the settings that default to them.</summary>
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

    [GeneratedRegex("\"([a-z][a-z-]*)\"")]
    private static partial Regex StringLiteral();
}
