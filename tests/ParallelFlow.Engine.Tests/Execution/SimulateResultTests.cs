using System.Text.Json;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>The simulate worker keeps a task's result for the task's next runs: every run, concurrent or not, still
/// answers each task with its own text, and one whose parameters come from the run's inputs with that run's; a task
/// bound once gets the same result each run; one whose <c>output</c> is given, the result made when it was bound, from
/// its first run on.</summary>
public sealed class SimulateResultTests
{
    private const string Plan = """
        id: answers
        inputs:
          word: { type: string, default: none }
        tasks:
          - { id: a, worker: simulate, with: { seconds: 0 } }
          - { id: b, worker: simulate, with: { seconds: 0 } }
          - { id: c, worker: simulate, depends_on: [a, b], with: { seconds: 0, output: fixed } }
          - { id: d, worker: simulate, depends_on: [c], with: { seconds: 0, output: "said {{inputs.word}}" } }
        """;

    [Fact]
    public async Task Every_run_answers_each_task_with_its_own_text()
    {
        var engine = new ParallelFlowEngine();
        var compiled = engine.Compile(PlanLoader.Parse(Plan, PlanFormat.Yaml, "plan.yaml", engine.Catalog));

        var given = new HashSet<Sdk.TaskResult>(ReferenceEqualityComparer.Instance);
        for (var round = 0; round < 3; round++)
        {
            var runs = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => compiled.RunAsync(new RunOptions
            {
                Workers = 2,
                Inputs = new Dictionary<string, JsonElement> { ["word"] = JsonSerializer.SerializeToElement($"w{i}") },
            }))).Within();

            for (var i = 0; i < runs.Length; i++)
            {
                Assert.Equal(RunStatus.Succeeded, runs[i].Status);
                Assert.Equal("a done", runs[i]["a"].Result!.Text);
                Assert.Equal("b done", runs[i]["b"].Result!.Text);
                Assert.Equal("fixed", runs[i]["c"].Result!.Text);
                given.Add(runs[i]["c"].Result!);
                Assert.Equal($"said w{i}", runs[i]["d"].Result!.Text);
            }
        }

        // Six concurrent first runs and all later ones: one result for the task whose output is given, made once.
        Assert.Single(given);
        var byDefault = await compiled.RunAsync().Within();
        Assert.Equal(("a done", "said none"), (byDefault["a"].Result!.Text, byDefault["d"].Result!.Text));

        // Kept: a task bound once answers every run with the same result, made in its first run.
        var again = await compiled.RunAsync().Within();
        Assert.Same(byDefault["a"].Result, again["a"].Result);
        Assert.Same(byDefault["c"].Result, again["c"].Result);
    }

    [Fact]
    public async Task An_output_given_is_one_result_made_when_bound_whichever_task_asks_first()
    {
        // Bound once, as the engine binds a task's parameters when it compiles the plan; two tasks' first attempts then
        // get the one result made then. (A default output names its task, so is made on the task's first run.)
        Assert.True(BuiltInWorkers.CreateCatalog().TryGetWorker("simulate", out var worker));
        var with = JsonSerializer.SerializeToElement(new { seconds = 0, output = "fixed" });
        var bound = worker.BindParameters(with);
        var first = await worker.ExecuteAsync(new Sdk.TaskRequest { TaskId = "a", WorkerName = "simulate", With = with, Parameters = bound }, CancellationToken.None);
        var second = await worker.ExecuteAsync(new Sdk.TaskRequest { TaskId = "b", WorkerName = "simulate", With = with, Parameters = bound }, CancellationToken.None);
        Assert.Equal("fixed", first.Text);
        Assert.Same(first, second);

        var byDefault = JsonSerializer.SerializeToElement(new { seconds = 0 });
        var boundByDefault = worker.BindParameters(byDefault);
        var a = await worker.ExecuteAsync(new Sdk.TaskRequest { TaskId = "a", WorkerName = "simulate", With = byDefault, Parameters = boundByDefault }, CancellationToken.None);
        var b = await worker.ExecuteAsync(new Sdk.TaskRequest { TaskId = "b", WorkerName = "simulate", With = byDefault, Parameters = boundByDefault }, CancellationToken.None);
        Assert.Equal(("a done", "b done"), (a.Text, b.Text));
    }
}
