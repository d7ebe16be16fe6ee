using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>The process-wide warm-up runs once, ends without error (its later passes too), and leaves the engine as it
/// was for real runs.</summary>
public sealed class EngineWarmUpTests
{
    [Fact]
    public async Task The_warm_up_runs_once_per_process_and_leaves_real_runs_unchanged()
    {
        var first = EngineWarmUp.Start();
        Assert.Same(first, EngineWarmUp.Start());
        await first.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(first.IsCompletedSuccessfully);
        // Not only without an error, which it never throws: its plans compiled and ran.
        Assert.True(await EngineWarmUp.RanAsync());

        // A process that lives on asks for the passes that get the engine's code recompiled optimised (a plain start
        // does not): they follow in the background, once, for a few seconds (none when the runtime does not
        // recompile), and end without error.
        Assert.Same(Task.CompletedTask, EngineWarmUp.Optimised);
        Assert.Same(first, EngineWarmUp.Start(optimise: true));
        var optimised = EngineWarmUp.Optimised;
        Assert.NotSame(Task.CompletedTask, optimised);
        Assert.Same(optimised, (EngineWarmUp.Start(optimise: true), EngineWarmUp.Optimised).Item2);
        await optimised.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(optimised.IsCompletedSuccessfully);

        var plan = new PlanBuilder("after-warm-up")
            .AddTask("a", "template", t => t.With(new { text = "x" }))
            .AddTask("b", "template", t => t.DependsOn("a").With(new { text = "{{a}}y" }))
            .Build();
        var result = await new ParallelFlowEngine().Compile(plan).RunAsync();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal("xy", result["b"].Output);
    }
}
