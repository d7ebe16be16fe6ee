using System.Text.Json;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>The simulate worker keeps a task's result for the task's next runs: every run, concurrent or not, still
/// answers each task with its own text, and one whose parameters come from the run's inputs with that run's; a task
/// bound once gets the same result each run.</summary>
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
                Assert.Equal($"said w{i}", runs[i]["d"].Result!.Text);
            }
        }

        var byDefault = await compiled.RunAsync().Within();
        Assert.Equal(("a done", "said none"), (byDefault["a"].Result!.Text, byDefault["d"].Result!.Text));

        // Kept: a task bound once answers every run with the same result, made in its first run.
        var again = await compiled.RunAsync().Within();
        Assert.Same(byDefault["a"].Result, again["a"].Result);
        Assert.Same(byDefault["c"].Result, again["c"].Result);
    }
}
