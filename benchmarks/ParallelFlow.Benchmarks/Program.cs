using BenchmarkDotNet.Running;

// --quick: a short version of the suite (about a minute): the small-plan latency and one trace's makespan cases.
if (args.Contains("--quick"))
{
    Environment.SetEnvironmentVariable("PARALLELFLOW_BENCH_QUICK", "1");
    args = [.. args.Where(a => a != "--quick"), "--filter", "*SmallPlan*", "*Makespan*"];
}

BenchmarkSwitcher.FromAssembly(typeof(ParallelFlow.Benchmarks.Graph).Assembly).Run(args);
