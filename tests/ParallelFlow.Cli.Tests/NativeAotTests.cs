namespace ParallelFlow.Cli.Tests;

/// <summary>The engine in a natively compiled host, as a user publishes one: the example host
/// (examples/ParallelFlow.Examples.NativeAot) published with native AOT from a copy of the sources, with no trimming
/// or AOT warning, then run as the native program it is — a plan built in code with parameters of generated
/// serialisation, a JSON plan with retries and templates, a YAML plan, a malformed one, and one that does not exist.</summary>
public sealed class NativeAotTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(6);
    private readonly string _root = Directory.CreateTempSubdirectory("parallelflow-aot-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Engine_publishes_and_runs_as_native_code()
    {
        var source = Path.Combine(_root, "source");
        await SourceCopy.CopyAsync(RepositoryRoot.Path, source, Limit);
        var output = Path.Combine(_root, "native");
        var publish = await PublishAsync(source, "examples/ParallelFlow.Examples.NativeAot", output);
        Assert.DoesNotContain("warning IL", publish, StringComparison.Ordinal);
        Assert.DoesNotContain("analysis warning", publish, StringComparison.Ordinal);

        // Native code, not a managed assembly and its runtime: one ELF executable, no engine assembly beside it.
        var host = Path.Combine(output, "ParallelFlow.Examples.NativeAot");
        var header = new byte[4];
        await using (var file = File.OpenRead(host))
        {
            await file.ReadExactlyAsync(header);
        }

        Assert.Equal("\u007fELF"u8.ToArray(), header);
        Assert.False(File.Exists(Path.Combine(output, "ParallelFlow.Engine.dll")), "the engine was left as an assembly beside the host");

        var built = await SourceCopy.RunAsync(source, Limit, host);
        Assert.Matches(@"report\s+Succeeded\s+[0-9.]+ s\s+40 rows, 2 dropped", built);
        Assert.Contains("Succeeded: 4 tasks", built, StringComparison.Ordinal);

        // A plan file: a task that fails its first attempt is retried (Polly), templates read their dependencies.
        var released = await SourceCopy.RunAsync(source, Limit, host, "examples/release-check.json");
        Assert.Matches(@"build-windows\s+Succeeded", released);
        Assert.Contains("- API: Schema from: 3 endpoints changed", released, StringComparison.Ordinal);
        Assert.Contains("Succeeded: 8 tasks", released, StringComparison.Ordinal);

        // YAML, read natively (YamlDotNet), and a malformed file named with its position.
        var yaml = await SourceCopy.RunAsync(source, Limit, host, "examples/data-pipeline.yaml");
        Assert.Contains("Succeeded: 7 tasks", yaml, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(source, "broken.yaml"), "tasks:\n  - id: a\n   worker: [simulate\n");
        var (brokenExit, broken) = await SourceCopy.TryRunAsync(source, Limit, host, "broken.yaml");
        Assert.Equal(2, brokenExit);
        Assert.Contains("broken.yaml(3,4): error PF0001: malformed YAML", broken, StringComparison.Ordinal);

        var (exitCode, missing) = await SourceCopy.TryRunAsync(source, Limit, host, "examples/no-such-plan.json");
        Assert.Equal(2, exitCode);
        Assert.Contains("examples/no-such-plan.json", missing, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", missing, StringComparison.Ordinal);

        // Every type of the engine and the SDK compiled, not only what the example reaches (voting, sectioning,
        // reports, plugin loading): the only warnings come from the plugin loader's library, which only the methods
        // marked as loading assemblies at run time reach.
        var rooted = await PublishAsync(source, "examples/ParallelFlow.Examples.NativeAot", Path.Combine(_root, "native-rooted"),
            "-p:RootEngine=true", "-p:TrimmerSingleWarn=false", "-p:TreatWarningsAsErrors=false");
        var warnings = rooted.Split('\n').Where(line => line.Contains("warning IL", StringComparison.Ordinal)).Distinct().ToList();
        Assert.All(warnings, line => Assert.Contains("McMaster.NETCore.Plugins.", line, StringComparison.Ordinal));
    }

    /// <summary>The engine as a natively compiled service has it: the Generic Host and AddParallelFlow
    /// (examples/ParallelFlow.Examples.NativeAotHost), published with no trimming or AOT warning from any assembly,
    /// its settings bound by generated code and plugin loading left out; a named plan from its settings runs, and a
    /// plugin list gets a message saying why it cannot load, not a stack trace.</summary>
    [Fact]
    public async Task Engine_hosted_as_a_service_publishes_and_runs_as_native_code()
    {
        var source = Path.Combine(_root, "source");
        await SourceCopy.CopyAsync(RepositoryRoot.Path, source, Limit);
        var output = Path.Combine(_root, "native-host");
        var publish = await PublishAsync(source, "examples/ParallelFlow.Examples.NativeAotHost", output, "-p:TrimmerSingleWarn=false");
        Assert.DoesNotContain("warning IL", publish, StringComparison.Ordinal);
        Assert.DoesNotContain("analysis warning", publish, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(output, "ParallelFlow.Hosting.dll")), "the hosting library was left as an assembly beside the host");

        // A named plan from its settings, recorded in a journal (SQLite, natively: its JSON written by generated code).
        var host = Path.Combine(output, "ParallelFlow.Examples.NativeAotHost");
        var journal = Path.Combine(_root, "journal.db");
        var ran = await SourceCopy.RunAsync(source, Limit, host, "--ParallelFlow:Plans:check=examples/release-check.json", "--ParallelFlow:Workers=4", $"--ParallelFlow:Journal={journal}");
        Assert.Matches(@"check: Succeeded, 8 tasks in [0-9.]+ s", ran);
        using (var recorded = ParallelFlow.Journal.RunJournal.Open(journal, create: false))
        {
            var run = Assert.Single(recorded.Runs());
            Assert.Equal("release-check", run.PlanId);
            Assert.Equal(8, recorded.Tasks(run.RunId).Count(t => t.Status == "succeeded"));
        }

        // A plan whose input has no default: this host gives none, and says which.
        var (inputsExit, inputs) = await SourceCopy.TryRunAsync(source, Limit, host, "--ParallelFlow:Plans:notes=examples/release-notes-inputs.yaml");
        Assert.Equal(2, inputsExit);
        Assert.Contains("input 'version' is required", inputs, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", inputs, StringComparison.Ordinal);

        var (exitCode, refused) = await SourceCopy.TryRunAsync(source, Limit, host, "--ParallelFlow:Plans:check=examples/release-check.json", "--ParallelFlow:Plugins=plugins.json");
        Assert.Equal(2, exitCode);
        Assert.Contains("ParallelFlow:Plugins names", refused, StringComparison.Ordinal);
        Assert.Contains("cannot load plugin assemblies", refused, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refused, StringComparison.Ordinal);

        // A setting the user can fix, checked when the host starts, as in a service.
        var (badExit, bad) = await SourceCopy.TryRunAsync(source, Limit, host, "--ParallelFlow:Plans:check=examples/release-check.json", "--ParallelFlow:Workers=0");
        Assert.Equal(2, badExit);
        Assert.Contains("ParallelFlow:Workers is 0", bad, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", bad, StringComparison.Ordinal);
    }

    /// <summary>Publishes a project of the copied sources with native AOT for linux-x64, as its README says; the
    /// publish's output (its warnings included).</summary>
    private static Task<string> PublishAsync(string source, string project, string output, params string[] properties) =>
        SourceCopy.RunAsync(source, Limit, "dotnet", ["publish", project, "-c", "Release", "-r", "linux-x64", "-o", output, "-p:CI=true", .. properties]);
}
