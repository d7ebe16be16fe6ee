using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.LocalModel;
using ParallelFlow.Plugins.SemanticKernel;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// <c>--context-savings [--max-tokens N]</c>: what each <c>context</c> strategy keeps of long dependency outputs of the
/// kinds plans pass on — a document (the repository's README), a JSON output (a WfCommons trace of the examples), and a
/// log (this repository's <c>git log --stat</c>) — counted in the local model's own tokens (stories15M's tokenizer),
/// with the limit at stories15M's context window (256) unless given. <c>summarize</c> runs the local model through the
/// semantic-kernel plugin's <c>llm</c> worker on the log's first 2,000 characters (the model reads 256 tokens at most).
/// A table on stdout: tokens before and after, and the share saved.
/// </summary>
internal static class ContextSavingsCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var limit = args.SkipWhile(a => a != "--max-tokens").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(256);
        var root = Repository.Root;
        var count = new LocalTokenCounter(new ModelStore()).Count;
        var texts = new (string Name, string Text, ContextSettings Extract)[]
        {
            ("document: README.md", await File.ReadAllTextAsync(Path.Combine(root, "README.md")),
                new ContextSettings(limit, ContextSettings.Extract) { Pattern = @"(?m)^#+ (.*)$" }),
            ("JSON: examples/workflows/image-survey.json", await File.ReadAllTextAsync(Path.Combine(root, "examples/workflows/image-survey.json")),
                new ContextSettings(limit, ContextSettings.Extract) { Paths = ["name", "workflow.specification.tasks[*].name"] }),
            ("log: git log --stat -n 60", await GitLogAsync(root),
                new ContextSettings(limit, ContextSettings.Extract) { Pattern = @"(?m)^    (\S.*)$" }),
        };

        Console.WriteLine($"{Environment.ProcessorCount} cores; load {File.ReadAllText("/proc/loadavg").Trim()}; limit {limit} tokens (stories15M's tokenizer)");
        Console.WriteLine("| output | tokens | strategy | tokens after | saved |");
        Console.WriteLine("|---|---:|---|---:|---:|");
        foreach (var (name, text, extract) in texts)
        {
            var before = count(text);
            foreach (var settings in new[] { new ContextSettings(limit), new ContextSettings(limit, ContextSettings.HeadTail), extract })
            {
                var after = count(ContextCompressor.Compress(text, settings, count));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {before} | {settings.Strategy} | {after} | {1 - (double)after / before:P1} |"));
            }
        }

        // Summarize, through the engine and the plugin as a plan uses it.
        var log = texts[2].Text[..Math.Min(2000, texts[2].Text.Length)];
        var catalog = BuiltInWorkers.CreateCatalog();
        Engine.Plugins.PluginHost.Register(catalog, new SemanticKernelPlugin(), JsonDocument.Parse("{}").RootElement);
        var plan = new PlanBuilder("summarized")
            .AddTask("log", "simulate", t => t.With(new { output = log }))
            .AddTask("read", "template", t => t.DependsOn("log").With(new { text = "{{log}}" })
                .Context(new ContextSettings(Math.Min(limit, 64), ContextSettings.Summarize) { Model = "stories15m" }))
            .Build();
        var clock = Stopwatch.StartNew();
        var result = await new ParallelFlowEngine(new EngineOptions { Catalog = catalog }).RunAsync(plan).ConfigureAwait(false);
        var context = result["read"].Context;
        Console.WriteLine(context is null
            ? $"| log, first 2,000 characters | {count(log)} | summarize | (within the limit) | - |"
            : string.Create(CultureInfo.InvariantCulture, $"| log, first 2,000 characters | {context.TokensBefore} | summarize (limit {Math.Min(limit, 64)}; {context.SummaryUsage.TotalTokens} tokens spent, {clock.Elapsed.TotalSeconds:0.0} s) | {context.TokensAfter} | {(double)context.TokensSaved / context.TokensBefore:P1} |"));
        return 0;
    }

    private static async Task<string> GitLogAsync(string root)
    {
        var start = new ProcessStartInfo("git", ["-C", root, "log", "--stat", "-n", "60"]) { RedirectStandardOutput = true };
        using var git = Process.Start(start)!;
        var output = await git.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        await git.WaitForExitAsync().ConfigureAwait(false);
        return output;
    }
}
