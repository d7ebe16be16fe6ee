using System.Text.Json;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Plans;

/// <summary>Plan inputs: declared in the plan, used as {{inputs.NAME}} in a task's parameters, supplied per run.</summary>
public sealed class PlanInputsTests
{
    private const string Plan = """
        id: report
        inputs:
          topic: { type: string, required: true, description: what the report is about }
          pages: { type: number, default: 2 }
          options: { type: object, default: { tone: plain } }
        tasks:
          - id: write
            worker: echo
            with:
              prompt: "Write {{inputs.pages}} pages on {{inputs.topic}}."
              pages: "{{inputs.pages}}"
              options: "{{ inputs.options }}"
          - id: wait
            worker: simulate
            with: { seconds: "{{inputs.pages}}" }
            estimate_seconds: 1
          - id: title
            worker: template
            depends_on: [write]
            with: { text: "{{inputs.topic}}: {{write}}" }
        """;

    [Fact]
    public async Task A_run_puts_its_values_in_a_whole_reference_keeping_the_type_and_inside_text_as_text()
    {
        var engine = Engine();
        var compiled = engine.Compile(Load(engine, Plan));

        var result = await compiled.RunAsync(new RunOptions { Inputs = Values(("topic", "\"queues\""), ("pages", "0.001")) }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        var with = JsonDocument.Parse(result["write"].Result!.Text!).RootElement;
        Assert.Equal("Write 0.001 pages on queues.", with.GetProperty("prompt").GetString());
        Assert.Equal(0.001, with.GetProperty("pages").GetDouble());
        Assert.Equal("plain", with.GetProperty("options").GetProperty("tone").GetString());
        Assert.StartsWith("queues: {", result["title"].Result!.Text, StringComparison.Ordinal);
        Assert.Equal(["options", "pages", "topic"], result.Inputs.Keys.Order());
    }

    [Fact]
    public async Task Runs_of_one_compiled_plan_each_get_their_own_values()
    {
        var engine = Engine();
        var compiled = engine.Compile(Load(engine, Plan));

        var runs = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            compiled.RunAsync(new RunOptions { Inputs = Values(("topic", $"\"t{i}\""), ("pages", "0.001")) }))).Within();

        for (var i = 0; i < runs.Length; i++)
        {
            Assert.Equal($"Write 0.001 pages on t{i}.", JsonDocument.Parse(runs[i]["write"].Result!.Text!).RootElement.GetProperty("prompt").GetString());
        }
    }

    [Fact]
    public async Task A_value_that_looks_like_a_placeholder_stays_text_in_a_template()
    {
        var engine = Engine();
        var compiled = engine.Compile(Load(engine, Plan));

        var result = await compiled.RunAsync(new RunOptions { Inputs = Values(("topic", "\"{{write}} and {{inputs.pages}}\""), ("pages", "0.001")) }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.StartsWith("{{write}} and {{inputs.pages}}: {", result["title"].Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_supplied_inputs_are_all_reported_before_anything_runs()
    {
        var engine = Engine();
        var compiled = engine.Compile(Load(engine, Plan));

        var errors = Assert.Throws<PlanValidationException>(() => compiled.Start(new RunOptions { Inputs = Values(("pagse", "3"), ("options", "[1]")) })).Errors;

        Assert.Contains(errors, e => e.Code == "PF0014" && e.Message.StartsWith("unknown input 'pagse'. Did you mean 'pages'?", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message == "input 'options' must be an object; got a list");
        Assert.Contains(errors, e => e.Message.StartsWith("input 'topic' is required (string: what the report is about)", StringComparison.Ordinal));
    }

    [Fact]
    public void A_secrets_value_given_as_an_input_is_refused_before_anything_runs()
    {
        var variable = $"PF_INPUT_SECRET_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(variable, "s3cret-value-for-the-test");
        try
        {
            var engine = Engine();
            engine.Catalog.AddSecretVariable(variable);
            var compiled = engine.Compile(Load(engine, Plan));

            var error = Assert.Single(Assert.Throws<PlanValidationException>(() =>
                compiled.Start(new RunOptions { Inputs = Values(("topic", "\"about s3cret-value-for-the-test\""), ("pages", "1")) })).Errors);

            Assert.Equal("input 'topic' holds the value of a secret variable; secrets reach workers from the environment, never as inputs, so that no report or journal keeps them", error.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public void A_value_the_worker_refuses_is_an_error_naming_the_task_before_anything_runs()
    {
        var engine = Engine();
        var compiled = engine.Compile(Load(engine, Plan));

        var error = Assert.Single(Assert.Throws<PlanValidationException>(() => compiled.Start(new RunOptions { Inputs = Values(("topic", "\"q\""), ("pages", "-1")) })).Errors);

        Assert.Equal("wait", error.TaskId);
        Assert.Equal("task 'wait': with (inputs put in): seconds must be a number of at least 0; got -1", error.Message);
        Assert.Equal(15, error.Position!.Value.Line);
    }

    [Fact]
    public void A_reference_to_an_undeclared_input_is_found_at_its_line_with_the_name_it_meant()
    {
        var errors = PlanText.ErrorsOf(() => Load(Engine(), Plan.Replace("{{inputs.pages}} pages", "{{inputs.pagse}} pages", StringComparison.Ordinal)));

        var error = Assert.Single(errors);
        Assert.Equal("PF0014", error.Code);
        Assert.Equal(10, error.Position!.Value.Line);
        Assert.Contains("{{inputs.pagse}} names no input of this plan. Did you mean 'pages'?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Declarations_are_checked_where_they_stand()
    {
        var errors = PlanText.ErrorsOf(() => Load(Engine(), """
            inputs:
              a: { type: number, default: "two" }
              b: { type: strnig }
              c: { type: string, required: true, default: x }
              "d e": string
              f: { required: true }
            tasks: [ { id: t, worker: simulate } ]
            """));

        Assert.Contains(errors, e => e.Position!.Value.Line == 2 && e.Message == "input 'a': the default must be a number; got the text 'two'");
        Assert.Contains(errors, e => e.Position!.Value.Line == 3 && e.Message.Contains("'strnig' is not one of string, number, boolean, object, array. Did you mean 'string'?", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Position!.Value.Line == 4 && e.Message.Contains("is required and has a default", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Position!.Value.Line == 5 && e.Message.StartsWith("input name 'd e' may hold only", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Position!.Value.Line == 6 && e.Message.StartsWith("input 'f' has no 'type'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_builder_declares_inputs_the_same_way()
    {
        var plan = new PlanBuilder("code")
            .Input(new PlanInput("who", PlanInputType.String) { Default = JsonSerializer.SerializeToElement("world") })
            .AddTask("hello", "template", t => t.With(new { text = "hello {{inputs.who}}" }))
            .Build();
        var compiled = Engine().Compile(plan);

        var byDefault = await compiled.RunAsync().Within();
        var supplied = await compiled.RunAsync(new RunOptions { Inputs = Values(("who", "\"you\"")) }).Within();

        Assert.Equal(("hello world", "hello you"), (byDefault["hello"].Result!.Text, supplied["hello"].Result!.Text));
    }

    private static ParallelFlowEngine Engine()
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("echo", new EchoWorker());
        return new ParallelFlowEngine(new EngineOptions { Catalog = catalog });
    }

    private static PlanDefinition Load(ParallelFlowEngine engine, string yaml) => PlanLoader.Parse(yaml, PlanFormat.Yaml, "plan.yaml", engine.Catalog);

    private static Dictionary<string, JsonElement> Values(params (string Name, string Json)[] values) =>
        values.ToDictionary(v => v.Name, v => JsonDocument.Parse(v.Json).RootElement.Clone());

    /// <summary>Returns its parameters as they reached it.</summary>
    private sealed class EchoWorker : ParallelFlowWorker
    {
        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TaskResult.FromText(request.With.GetRawText()));
    }
}
