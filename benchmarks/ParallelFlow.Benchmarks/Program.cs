using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(ParallelFlow.Benchmarks.Graph).Assembly).Run(args);
