using System.Text.Json;
using System.Threading.Tasks.Dataflow;
using BenchmarkDotNet.Attributes;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Benchmarks;

/// <summary>What does a plan cost as a Dataflow block? Items streamed through a 5-stage plan (a chain of five tasks,
/// each run with one worker, ten runs at once) beside the same five stages as hand-linked TransformBlocks (each with
/// two at once, so ten operations in flight either way), both bounded at 64 items, 10,000 items through zero-work
/// stages and through 1 ms stages. Throughput ratio = the engine's mean ÷ the pipeline's; allocation per item =
/// allocated ÷ items.</summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 8)]
public class PlanBlockBenchmarks
{
    private const int Stages = 5;
    private CompiledPlan _compiled = null!;
    private Dictionary<string, JsonElement>[] _items = null!;

    [Params("zero", "1ms")]
    public string Work { get; set; } = "zero";

    private int Items => 10_000;

    [GlobalSetup]
    public void Setup()
    {
        var builder = new PlanBuilder("five-stages").Input(new PlanInput("item", PlanInputType.Number)).WithWorkers(1);
        for (var stage = 0; stage < Stages; stage++)
        {
            var id = $"stage-{stage}";
            var dependency = stage == 0 ? null : $"stage-{stage - 1}";
            builder.AddTask(id, async request =>
            {
                await Stage(Work).ConfigureAwait(false);
                return request.TaskId;
            }, t =>
            {
                t.With(new { item = "{{inputs.item}}" });
                if (dependency is not null)
                {
                    t.DependsOn(dependency);
                }
            });
        }

        _compiled = new ParallelFlowEngine().Compile(builder.Build());
        _items = [.. Enumerable.Range(0, Items).Select(i => new Dictionary<string, JsonElement> { ["item"] = JsonSerializer.SerializeToElement(i) })];
    }

    [Benchmark(Baseline = true, Description = "hand-linked TransformBlocks")]
    public async Task<int> Pipeline()
    {
        var options = new ExecutionDataflowBlockOptions { BoundedCapacity = 64, MaxDegreeOfParallelism = 2 };
        var work = Work;
        var first = new TransformBlock<int, int>(async i => { await Stage(work).ConfigureAwait(false); return i; }, options);
        var last = first;
        for (var stage = 1; stage < Stages; stage++)
        {
            var next = new TransformBlock<int, int>(async i => { await Stage(work).ConfigureAwait(false); return i; }, options);
            last.LinkTo(next, new DataflowLinkOptions { PropagateCompletion = true });
            last = next;
        }

        var count = 0;
        var sink = new ActionBlock<int>(_ => count++, new ExecutionDataflowBlockOptions { BoundedCapacity = 64 });
        last.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });
        for (var i = 0; i < Items; i++)
        {
            await first.SendAsync(i).ConfigureAwait(false);
        }

        first.Complete();
        await sink.Completion.ConfigureAwait(false);
        return count;
    }

    [Benchmark(Description = "plan.AsBlock")]
    public async Task<int> PlanAsBlock()
    {
        var block = _compiled.AsBlock(new PlanBlockOptions { BoundedCapacity = 64, MaxConcurrentRuns = 2 * Stages });
        var count = 0;
        var sink = new ActionBlock<RunResult>(_ => count++, new ExecutionDataflowBlockOptions { BoundedCapacity = 64 });
        block.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });
        foreach (var item in _items)
        {
            await block.SendAsync(item).ConfigureAwait(false);
        }

        block.Complete();
        await sink.Completion.ConfigureAwait(false);
        return count;
    }

    private static ValueTask Stage(string work) => work == "zero" ? ValueTask.CompletedTask : new ValueTask(Task.Delay(1));
}
