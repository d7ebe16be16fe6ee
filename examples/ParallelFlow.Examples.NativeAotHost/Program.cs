// The engine set up as a service sets it up, compiled to native code: the Generic Host, AddParallelFlow and the
// ParallelFlow section of its configuration (named plans compiled at start, the shared pool, limits, the journal).
// Built-in workers only: a natively compiled host cannot load plugin assemblies, and says so when ParallelFlow:Plugins
// is set (register the plugins compiled into the host with PluginHost.Register instead).
//
//   dotnet publish examples/ParallelFlow.Examples.NativeAotHost -c Release -r linux-x64 -o artifacts/aot-host
//   artifacts/aot-host/ParallelFlow.Examples.NativeAotHost --ParallelFlow:Plans:check=examples/release-check.json
//       runs each plan of the section once (with its inputs' defaults) and prints how it ended; settings may also
//       come from appsettings.json or the environment (ParallelFlow__Plans__check=...). Ctrl+C cancels the runs.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Hosting;
using ParallelFlow.Journal;

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
// A start that fails is reported below, as its message: not also logged by the host with its stack.
builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
builder.Services.AddParallelFlow(builder.Configuration);
using var host = builder.Build();
try
{
    await host.StartAsync();
}
catch (Exception ex) when (ex is OptionsValidationException or JournalException || ex is InvalidOperationException && ex.Message.StartsWith("ParallelFlow cannot start", StringComparison.Ordinal))
{
    // Settings the user can fix: a plan with errors, a limit on no worker type, a journal that cannot be opened, a
    // plugin list in a native host.
    Console.Error.WriteLine(ex.Message);
    return 2;
}

var plans = host.Services.GetRequiredService<PlanRegistry>();
if (plans.Names.Count == 0)
{
    Console.Error.WriteLine("no plans: name one with --ParallelFlow:Plans:NAME=FILE");
    await host.StopAsync();
    return 2;
}

var runner = host.Services.GetRequiredService<ParallelFlowRunner>();
var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
var exitCode = 0;
foreach (var name in plans.Names)
{
    try
    {
        using var result = await runner.RunAsync(name, inputs: null, stopping);
        Console.WriteLine($"{name}: {result.Status}, {result.Tasks.Count} tasks in {result.Elapsed.TotalSeconds:0.00} s, speedup {result.Speedup:0.00}x");
        exitCode = Math.Max(exitCode, result.Status == RunStatus.Succeeded ? 0 : 1);
    }
    catch (PlanValidationException ex)
    {
        // A plan whose inputs have no default: this program gives none.
        Console.Error.WriteLine($"{name}: {ex.Message}");
        exitCode = 2;
    }
}

await host.StopAsync();
return exitCode;
