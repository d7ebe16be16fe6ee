using System.Text.Json;
using System.Threading.Tasks.Dataflow;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>A compiled plan as a Dataflow block: items stream through runs of the plan, with backpressure, order,
/// completion and faults by the Dataflow rules.</summary>
public sealed class PlanBlockTests
{
    private static readonly PlanDefinition ThreeStages = new PlanBuilder("stages")
        .Input(new PlanInput("n", PlanInputType.Number))
        .AddTask("parse", "template", t => t.With(new { text = "n={{inputs.n}}" }))
        .AddTask("double", request => (2 * double.Parse(request.DependencyOutputs["parse"].ToString()![2..], System.Globalization.CultureInfo.InvariantCulture)).ToString(System.Globalization.CultureInfo.InvariantCulture), t => t.DependsOn("parse"))
        .AddTask("format", "template", t => t.DependsOn("double").With(new { text = "{{inputs.n}} -> {{double}}" }))
        .Build();

    [Fact]
    public async Task Items_stream_through_runs_of_the_plan_and_leave_in_order()
    {
        var block = new ParallelFlowEngine().Compile(ThreeStages).AsBlock(new PlanBlockOptions { BoundedCapacity = 8, MaxConcurrentRuns = 4 });
        var outputs = new List<string>();
        var sink = new ActionBlock<RunResult>(r => outputs.Add(r["format"].Output!));
        block.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });

        for (var i = 0; i < 200; i++)
        {
            Assert.True(await block.SendAsync(Inputs(i)));
        }

        block.Complete();
        await sink.Completion.Within();

        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"{i} -> {2 * i}"), outputs);
    }

    [Fact]
    public async Task A_full_block_holds_its_producer_back_until_a_result_is_taken()
    {
        var gated = new GatedWorker();
        var engine = TestEngines.With(null, ("hold", gated));
        var plan = new PlanBuilder("held").Input(new PlanInput("id", PlanInputType.String)).AddTask("work", "hold", t => t.With(new { id = "{{inputs.id}}" })).Build();
        var block = engine.Compile(plan).AsBlock(new PlanBlockOptions { BoundedCapacity = 2, MaxConcurrentRuns = 1 });

        Assert.True(await block.SendAsync(Text("a")).Within());
        Assert.True(await block.SendAsync(Text("b")).Within());
        var third = block.SendAsync(Text("c"));
        Assert.False(block.Post(Text("d")));                // Post declines a full block; SendAsync waits
        await gated.Started("work").Within();
        Assert.False(third.IsCompleted);

        gated.Release("work");
        var first = await block.ReceiveAsync().Within();    // taking a result makes room
        Assert.True(await third.Within());
        Assert.Equal(RunStatus.Succeeded, first.Status);
        block.Complete();
    }

    [Fact]
    public async Task Unordered_results_leave_as_runs_end()
    {
        var gates = new System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource<string>>();
        TaskCompletionSource<string> Gate(string id) => gates.GetOrAdd(id, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));
        var plan = new PlanBuilder("by-id").Input(new PlanInput("id", PlanInputType.String))
            .AddTask("wait", request => Gate(request.With.GetProperty("id").GetString()!).Task, t => t.With(new { id = "{{inputs.id}}" }))
            .Build();
        var block = new ParallelFlowEngine().Compile(plan).AsBlock(new PlanBlockOptions { EnsureOrdered = false, MaxConcurrentRuns = 2 });

        await block.SendAsync(Text("first"));
        await block.SendAsync(Text("second"));
        Gate("second").SetResult("second done");
        var firstOut = await block.ReceiveAsync().Within();
        Gate("first").SetResult("first done");
        var secondOut = await block.ReceiveAsync().Within();

        Assert.Equal(("second done", "first done"), (firstOut["wait"].Output, secondOut["wait"].Output));
        block.Complete();
    }

    [Fact]
    public async Task An_item_whose_run_cannot_start_faults_the_block_and_a_failed_run_is_a_result()
    {
        var engine = TestEngines.With(null, ("fail", new FailingWorker()));
        var plan = new PlanBuilder("fails").Input(new PlanInput("n", PlanInputType.Number)).AddTask("t", "fail", t => t.With(new { n = "{{inputs.n}}" })).Build();
        var block = engine.Compile(plan).AsBlock();

        await block.SendAsync(Inputs(1));
        var failed = await block.ReceiveAsync().Within();
        Assert.Equal(RunStatus.Failed, failed.Status);

        await block.SendAsync(new Dictionary<string, JsonElement> { ["n"] = JsonSerializer.SerializeToElement("not a number") });
        var fault = await Assert.ThrowsAsync<PlanValidationException>(() => block.Completion.Within());
        Assert.Contains("input 'n' must be a number", fault.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_the_block_cancels_the_runs_in_flight()
    {
        var gated = new GatedWorker();
        var engine = TestEngines.With(null, ("hold", gated));
        var plan = new PlanBuilder("held").AddTask("work", "hold").Build();
        using var cancel = new CancellationTokenSource();
        var block = engine.Compile(plan).AsBlock<int>(_ => new RunOptions(), new PlanBlockOptions { CancellationToken = cancel.Token });

        await block.SendAsync(1);
        await gated.Started("work").Within();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => block.Completion.Within());
    }

    private static Dictionary<string, JsonElement> Inputs(int n) => Number("n", n);

    private static Dictionary<string, JsonElement> Number(string name, double value) => new() { [name] = JsonSerializer.SerializeToElement(value) };

    private static Dictionary<string, JsonElement> Text(string value) => new() { ["id"] = JsonSerializer.SerializeToElement(value) };

    private sealed class FailingWorker : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            throw new FatalTaskException("no");
    }
}
