using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>A compiled plan's runs share its execution blocks, one run after another: each run's tasks see that run's
/// own context, and a run started where the last one completed — on its last task's thread — does not wait for it.</summary>
public sealed class ExecutorReuseTests
{
    private static readonly AsyncLocal<string?> Caller = new();

    [Fact]
    public async Task Each_run_s_tasks_see_the_context_of_the_code_that_started_that_run()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("caller", new CallerWorker());
        var builder = new PlanBuilder("contexts").WithWorkers(2);
        for (var i = 0; i < 8; i++)
        {
            builder.AddTask($"t{i}", "caller");
        }

        var compiled = new ParallelFlowEngine(new EngineOptions { Catalog = catalog }).Compile(builder.Build());
        await Task.Run(() => RunsInTheirCallersContextsAsync(compiled));
    }

    private static async Task RunsInTheirCallersContextsAsync(CompiledPlan compiled)
    {
        for (var round = 0; round < 30; round++)
        {
            Caller.Value = $"round {round}";
            // ConfigureAwait(false): the next round may start on the thread of this run's last task.
            var result = await compiled.RunAsync().ConfigureAwait(false);
            Assert.All(result.Tasks, t => Assert.Equal($"round {round}", t.Output));
        }
    }

    [Fact]
    public async Task A_run_started_synchronously_where_the_last_one_completed_does_not_wait_for_its_blocks()
    {
        var plan = new PlanBuilder("one-slot").WithWorkers(1)
            .AddTask("a", "simulate", t => t.With(new { seconds = 0 }))
            .AddTask("b", "simulate", t => t.DependsOn("a").With(new { seconds = 0 }))
            .Build();
        var compiled = new ParallelFlowEngine().Compile(plan);
        await Task.Run(() => SecondRunsStartedSynchronouslyAsync(compiled));
    }

    private static async Task SecondRunsStartedSynchronouslyAsync(CompiledPlan compiled)
    {
        for (var round = 0; round < 20; round++)
        {
            // ConfigureAwait(false): the code after the await may go on on the thread of the run's last task.
            var first = await compiled.RunAsync().ConfigureAwait(false);
            Assert.Equal(RunStatus.Succeeded, first.Status);
            var second = compiled.RunAsync();
            Assert.True(second.Wait(TimeSpan.FromSeconds(20)), $"round {round}: the second run waited for the first run's blocks");
            Assert.Equal(RunStatus.Succeeded, second.Result.Status);
        }
    }

    private sealed class CallerWorker : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TaskResult.FromText(Caller.Value ?? "none"));
    }
}
