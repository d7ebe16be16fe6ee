// The engine hosted in a natively compiled program. Built-in workers only: plugins are assemblies loaded at run time,
// which native code cannot load (register a plugin compiled into the program with PluginHost.Register instead).
//
//   dotnet publish examples/ParallelFlow.Examples.NativeAot -c Release -r linux-x64 -o artifacts/aot
//   artifacts/aot/ParallelFlow.Examples.NativeAot                        a plan built in code, run once
//   artifacts/aot/ParallelFlow.Examples.NativeAot examples/release-check.json
//   artifacts/aot/ParallelFlow.Examples.NativeAot PLAN --repeat 300 [--wait SECONDS]
//       runs the plan 300 times in one pool and writes each run's time in milliseconds, one a line
using System.Globalization;
using System.Text.Json.Serialization;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

var path = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal) && !double.TryParse(a, CultureInfo.InvariantCulture, out _));
var repeat = Option("--repeat") is { } r ? int.Parse(r, CultureInfo.InvariantCulture) : 0;
var wait = Option("--wait") is { } w ? TimeSpan.FromSeconds(double.Parse(w, CultureInfo.InvariantCulture)) : TimeSpan.Zero;

// As a host starts it: the engine's own paths run once while the plan is read.
var warmUp = EngineWarmUp.Start();
var engine = new ParallelFlowEngine();
PlanDefinition plan;
try
{
    plan = path is null ? BuiltInCode() : PlanLoader.LoadFile(path, engine.Catalog);
}
catch (PlanValidationException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

var compiled = engine.Compile(plan);
await warmUp;
await Task.Delay(wait);

if (repeat > 0)
{
    var pool = new ParallelFlowPool(new PoolOptions { Workers = 2 });
    var times = new List<double>(repeat);
    for (var run = 0; run < repeat; run++)
    {
        using var timed = await compiled.RunAsync(new RunOptions { Workers = 2, Pool = pool });
        times.Add(timed.Elapsed.TotalMilliseconds);
    }

    Console.WriteLine(string.Join('\n', times.Select(t => t.ToString("R", CultureInfo.InvariantCulture))));
    return 0;
}

using var result = await compiled.RunAsync();
foreach (var task in result.Tasks)
{
    Console.WriteLine($"{task.TaskId,-16} {task.Status,-10} {task.Duration.TotalSeconds,6:0.00} s  {task.Output ?? task.Error}");
}

Console.WriteLine($"{result.Status}: {result.Tasks.Count} tasks in {result.Elapsed.TotalSeconds:0.00} s, speedup {result.Speedup:0.00}x");
return result.Status == RunStatus.Succeeded ? 0 : 1;

string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();

// Parameters as a record of the program's own, serialised by generated code (ExampleJson): no reflection.
static PlanDefinition BuiltInCode() => new PlanBuilder("native")
    .AddTask("fetch", "simulate", t => t.With(new Simulate(0.2, "42 rows"), ExampleJson.Default.Simulate))
    .AddTask("clean", "simulate", t => t.DependsOn("fetch").With(new Simulate(0.1, "40 rows"), ExampleJson.Default.Simulate))
    .AddTask("count", "simulate", t => t.DependsOn("fetch").With(new Simulate(0.1, "2 dropped"), ExampleJson.Default.Simulate))
    .AddTask("report", "template", t => t.DependsOn("clean", "count").With(new Template("{{clean}}, {{count}}"), ExampleJson.Default.Template))
    .Build();

internal sealed record Simulate(double Seconds, string Output);

internal sealed record Template(string Text);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(Simulate))]
[JsonSerializable(typeof(Template))]
internal sealed partial class ExampleJson : JsonSerializerContext;
