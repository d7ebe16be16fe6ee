using BenchmarkDotNet.Attributes;
using ParallelFlow.LocalModel;

namespace ParallelFlow.Benchmarks;

/// <summary>
/// What does one token of the offline model cost at each precision? One forward pass of stories15M at position 32
/// (a 32-token KV cache), f32 as the baseline, next to the 8-bit and 4-bit weights quantised at load.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class LocalModelBenchmarks
{
    private const int Position = 32;
    private Llama2Session _f32 = null!;
    private Llama2Session _q8 = null!;
    private Llama2Session _q4 = null!;

    [GlobalSetup]
    public void Setup()
    {
        var files = new ModelStore().EnsureStories15MAsync().GetAwaiter().GetResult();
        _f32 = Prefill(ModelStore.Load(files, Precision.F32));
        _q8 = Prefill(ModelStore.Load(files, Precision.Q8));
        _q4 = Prefill(ModelStore.Load(files, Precision.Q4));
    }

    [Benchmark(Baseline = true, Description = "f32 forward pass")]
    public float F32() => _f32.Forward(29892, Position)[0];

    [Benchmark(Description = "q8 forward pass")]
    public float Q8() => _q8.Forward(29892, Position)[0];

    [Benchmark(Description = "q4 forward pass")]
    public float Q4() => _q4.Forward(29892, Position)[0];

    private static Llama2Session Prefill(Llama2Model model)
    {
        var session = model.CreateSession();
        for (var position = 0; position < Position; position++)
        {
            session.Forward(1 + position, position);
        }

        return session;
    }
}
