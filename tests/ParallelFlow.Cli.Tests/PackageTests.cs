using System.Text.Json;

namespace ParallelFlow.Cli.Tests;

/// <summary>The packages as a user outside this repository gets them: packed into a folder, the tool installed from
/// it runs an example with the plugins it carries, and a plugin made from the template with a dotted name, in a folder
/// outside the repository, builds against the packed SDK (a PackageReference, no path here) and runs in that tool.</summary>
public sealed class PackageTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(6);
    private readonly string _root = Directory.CreateTempSubdirectory("parallelflow-packages-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Packed_tool_and_template_work_outside_the_repository()
    {
        // A copy of the sources, so packing (Release) never touches the build the other tests run on.
        var source = Path.Combine(_root, "source");
        await CopySourcesAsync(RepositoryRoot.Path, source);
        var packages = Path.Combine(_root, "packages");
        foreach (var project in new[] { "sdk/ParallelFlow.Sdk", "engine/ParallelFlow.Engine", "engine/ParallelFlow.Journal", "engine/ParallelFlow.Hosting", "engine/ParallelFlow.Cli", "templates/ParallelFlow.Templates.csproj" })
        {
            await RunAsync(source, "dotnet", "pack", project, "-c", "Release", "-o", packages, "-p:CI=true");
        }

        var produced = Directory.GetFiles(packages).Select(Path.GetFileName).ToList();
        foreach (var id in new[] { "ParallelFlow.Sdk.1.0.0", "ParallelFlow.Engine.0.1.0", "ParallelFlow.Journal.0.1.0", "ParallelFlow.Hosting.0.1.0", "parallelflow.linux-x64.0.1.0", "parallelflow.any.0.1.0" })
        {
            Assert.Contains($"{id}.nupkg", produced);
            Assert.Contains($"{id}.snupkg", produced);
        }

        // The engine's package carries, for every project that uses it, what leaves plugin loading out of a trimmed or
        // native program (PluginHost.IsLoadingSupported).
        using (var engine = System.IO.Compression.ZipFile.OpenRead(Path.Combine(packages, "ParallelFlow.Engine.0.1.0.nupkg")))
        {
            var targets = engine.GetEntry("buildTransitive/ParallelFlow.Engine.targets");
            Assert.NotNull(targets);
            using var reader = new StreamReader(targets.Open());
            Assert.Contains("ParallelFlow.Plugins.IsLoadingSupported", await reader.ReadToEndAsync(), StringComparison.Ordinal);
        }

        // The tool: a package that points at one for linux-x64 (ReadyToRun) and a portable one for any other platform.
        Assert.Contains("parallelflow.0.1.0.nupkg", produced);

        Assert.Contains("ParallelFlow.Templates.0.1.0.nupkg", produced);

        // The tool, installed from the folder, runs an example that needs a plugin it carries (process).
        var work = Path.Combine(_root, "work");
        Directory.CreateDirectory(work);
        await RunAsync(work, "dotnet", "tool", "install", "parallelflow", "--tool-path", "tools", "--add-source", packages, "--version", "0.1.0");
        var tool = Path.Combine(work, "tools", "parallelflow");
        if (OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64)
        {
            // This machine gets the package compiled ahead of time: the engine's assembly carries native code.
            var engine = Directory.GetFiles(Path.Combine(work, "tools", ".store"), "ParallelFlow.Engine.dll", SearchOption.AllDirectories).Single();
            Assert.Contains($"{Path.DirectorySeparatorChar}linux-x64{Path.DirectorySeparatorChar}", engine, StringComparison.Ordinal);
            using var reader = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(engine));
            Assert.True(reader.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0, $"{engine} is not ReadyToRun");
        }

        File.Copy(Path.Combine(RepositoryRoot.Path, "examples", "processes.json"), Path.Combine(work, "processes.json"));
        var example = await RunAsync(work, tool, "run", "processes.json", "--no-journal", "-q");
        Assert.Contains("succeeded", example, StringComparison.Ordinal);

        // A plugin from the template, with a dotted name, against the packed SDK only.
        var hive = Path.Combine(_root, "hive");
        await RunAsync(work, "dotnet", "new", "install", Path.Combine(packages, "ParallelFlow.Templates.0.1.0.nupkg"), "--debug:custom-hive", hive);
        await RunAsync(work, "dotnet", "new", "parallelflow-plugin", "-n", "Acme.Tools", "--worker", "shout", "-o", "Acme.Tools", "--debug:custom-hive", hive);
        File.WriteAllText(Path.Combine(work, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><add key="local" value="{packages}" /></packageSources></configuration>
            """);
        var generated = File.ReadAllText(Path.Combine(work, "Acme.Tools", "Acme.Tools.csproj"));
        Assert.Contains("<PackageReference Include=\"ParallelFlow.Sdk\"", generated, StringComparison.Ordinal);
        Assert.DoesNotContain("ProjectReference", generated, StringComparison.Ordinal);
        await RunAsync(Path.Combine(work, "Acme.Tools"), "dotnet", "build");

        File.WriteAllText(Path.Combine(work, "plugins.json"), """{ "plugins": [ { "name": "acme", "path": "Acme.Tools/bin/Debug/net10.0/Acme.Tools.dll" } ] }""");
        File.WriteAllText(Path.Combine(work, "plan.yaml"), "tasks:\n  - { id: loud, worker: shout, with: { input: \"hello from outside\" } }\n");
        await RunAsync(work, tool, "run", "plan.yaml", "--no-journal", "-q", "--report", "report.json");
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(work, "report.json")));
        Assert.Equal("HELLO FROM OUTSIDE", report.RootElement.GetProperty("results")[0].GetProperty("output").GetString());
    }

    private static Task CopySourcesAsync(string from, string to) => SourceCopy.CopyAsync(from, to, Limit);

    private static Task<string> RunAsync(string folder, string program, params string[] args) => SourceCopy.RunAsync(folder, Limit, program, args);
}
