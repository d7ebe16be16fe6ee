using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// --service-load: submit latency of a parallelflow serve process under concurrent clients and SSE listeners.
if (args.Contains("--service-load"))
{
    return await ParallelFlow.Benchmarks.ServiceLoadCommand.RunAsync(args);
}

// --fresh-process: the command's wall time and the engine's first run in new processes (JIT and ReadyToRun builds),
// and the engine hosted in a new process (this program, run again with --fresh-process-hosted SECONDS; with --native
// PATH, the natively compiled example host too).
if (args.Contains(ParallelFlow.Benchmarks.FreshProcessCommand.ChildFlag))
{
    return await ParallelFlow.Benchmarks.FreshProcessCommand.ChildAsync(args);
}

if (args.Contains("--fresh-process"))
{
    return await ParallelFlow.Benchmarks.FreshProcessCommand.RunAsync(args);
}

// --context-savings: what each context strategy keeps of long outputs, in the local model's own tokens.
if (args.Contains("--context-savings"))
{
    return await ParallelFlow.Benchmarks.ContextSavingsCommand.RunAsync(args);
}

// --core-round-trip [SECONDS]: the cache-line round trip between two cores, every second (how far apart the host
// placed this machine's cores right now; see CoreRoundTrip).
if (args.Contains("--core-round-trip"))
{
    return ParallelFlow.Benchmarks.CoreRoundTrip.Watch(args);
}

// --paired-peers [ROUNDS]: the engine and Taskflow taking turns every tenth of a second on PeerBenchmarks' graphs, so
// both run in the same placement of the cores (see PairedPeersCommand).
if (args.Contains("--paired-peers"))
{
    return await ParallelFlow.Benchmarks.PairedPeersCommand.RunAsync(args);
}

// --quick: a short version of the suite (about a minute): the small-plan latency and one trace's makespan cases.
if (args.Contains("--quick"))
{
    Environment.SetEnvironmentVariable("PARALLELFLOW_BENCH_QUICK", "1");
    args = [.. args.Where(a => a != "--quick"), "--filter", "*SmallPlan*", "*Makespan*"];
}

// --in-process: every job of the suite runs in this process (no generated project to build per run), with the
// iteration counts the classes set. benchmarks/compare-commits.sh uses it to run two commits side by side.
IConfig? config = null;
if (args.Contains("--in-process"))
{
    args = [.. args.Where(a => a != "--in-process")];
    config = DefaultConfig.Instance.AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).AsMutator());
}

BenchmarkSwitcher.FromAssembly(typeof(ParallelFlow.Benchmarks.Graph).Assembly).Run(args, config);
return 0;
