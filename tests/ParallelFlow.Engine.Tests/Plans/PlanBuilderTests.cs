using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Plans;

public sealed class PlanBuilderTests
{
    [Fact]
    public async Task ABuiltPlan_MixesDelegateAndCatalogTasks()
    {
        var plan = new PlanBuilder("code-first")
            .AddTask("fetch", (_, _) => ValueTask.FromResult(TaskResult.FromText("42 rows")))
            .AddTask("report", "template", t => t.DependsOn("fetch").With(new { text = "Got {{fetch}}" }))
            .Build();

        var result = await new ParallelFlowEngine().RunAsync(plan).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal("Got 42 rows", result.Tasks[1].Result!.Text);
    }

    [Fact]
    public async Task Parameters_without_reflection_are_the_same_JSON_as_an_object_gives()
    {
        // A natively compiled host passes a JsonElement or a value with its generated serialisation; a plan built either
        // way holds what the reflection-based overload would have made of an equal object, and runs the same.
        var plan = new PlanBuilder("typed")
            .AddTask("a", "simulate", t => t.With(new SimulateParameters(0, "done"), TypedParametersJson.Default.SimulateParameters))
            .AddTask("b", "template", t => t.DependsOn("a").With(System.Text.Json.JsonDocument.Parse("""{ "text": "{{a}}!" }""").RootElement))
            .AddTask("c", "template", t => t.DependsOn("a").With(new { text = "{{a}}!" }))
            .Build();

        Assert.Equal("""{"seconds":0,"output":"done"}""", plan.Tasks[0].With.GetRawText());
        Assert.Equal(plan.Tasks[2].With.GetRawText().Replace(" ", "", StringComparison.Ordinal), plan.Tasks[1].With.GetRawText().Replace(" ", "", StringComparison.Ordinal));
        var result = await new ParallelFlowEngine().RunAsync(plan).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal("done!", result["b"].Output);
        Assert.Equal(result["c"].Output, result["b"].Output);
    }

    [Fact]
    public async Task Delegates_in_the_shapes_people_write_run_and_their_outputs_read_by_id()
    {
        var plan = new PlanBuilder("shapes")
            .AddTask("sync-text", _ => "plain")
            .AddTask("sync-result", _ => TaskResult.FromJson(System.Text.Json.JsonSerializer.SerializeToElement(new { rows = 3 })))
            .AddTask("async-text", async request =>
            {
                await Task.Delay(1, request.CancellationToken);
                return $"after {request.DependencyOutputs["sync-text"]}";
            }, t => t.DependsOn("sync-text"))
            .AddTask("async-result", request => ValueTask.FromResult(TaskResult.FromText(request.TaskId)))
            .AddTask("with-token", (request, cancellationToken) => ValueTask.FromResult(TaskResult.FromText(cancellationToken.CanBeCanceled ? "token" : "none")))
            .Build();

        var result = await new ParallelFlowEngine().RunAsync(plan).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal("plain", result["sync-text"].Output);
        Assert.Equal("""{"rows":3}""", result["sync-result"].Output);
        Assert.Equal("after plain", result["async-text"].Output);
        Assert.Equal("async-result", result["async-result"].Output);
        Assert.Equal("token", result["with-token"].Output);
    }

    [Fact]
    public void Build_reports_bad_ids_and_settings_with_every_other_problem_as_a_file_does()
    {
        var errors = Assert.Throws<PlanValidationException>(() => new PlanBuilder("broken")
            .AddTask("", "simulate")
            .AddTask("has space", "simulate")
            .AddTask(new string('x', 300), "simulate")
            .AddTask("ok", "", t => t.Timeout(TimeSpan.FromSeconds(-1)))
            .AddTask("late", _ => "x", t => t.DependsOn("nowhere"))
            .Build()).Errors;

        Assert.Contains(errors, e => e.Code == "PF0004" && e.Message == "task tasks[0] has no 'id'");
        Assert.Contains(errors, e => e.Code == "PF0010" && e.Message.StartsWith("task id 'has space' may hold only", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Code == "PF0009" && e.Message.Contains("300 characters long; at most 200", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Code == "PF0008" && e.TaskId == "ok");
        Assert.Contains(errors, e => e.Code == "PF0009" && e.TaskId == "ok" && e.Message.Contains("timeout_seconds", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Code == "PF0006" && e.TaskId == "late");
    }

    [Fact]
    public void Build_ReportsEveryProblem()
    {
        var builder = new PlanBuilder("broken")
            .AddTask("a", "simulate", t => t.DependsOn("missing"))
            .AddTask("a", "simulate")
            .AddTask("b", "simulate", t => t.DependsOn("c"))
            .AddTask("c", "simulate", t => t.DependsOn("b"));

        var errors = Assert.Throws<PlanValidationException>(builder.Build).Errors;

        Assert.Equal(["PF0005", "PF0006", "PF0007"], errors.Select(e => e.Code).Order());
    }

    [Fact]
    public void Compile_AnUnknownWorker_IsReportedWithTheTask()
    {
        var plan = new PlanBuilder("unknown").AddTask("a", "nobody").Build();

        var error = Assert.Single(Assert.Throws<PlanValidationException>(() => new ParallelFlowEngine().Compile(plan)).Errors);

        Assert.Equal(("PF0008", "a"), (error.Code, error.TaskId));
    }
}

internal sealed record SimulateParameters(double Seconds, string Output);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(SimulateParameters))]
internal sealed partial class TypedParametersJson : System.Text.Json.Serialization.JsonSerializerContext;
