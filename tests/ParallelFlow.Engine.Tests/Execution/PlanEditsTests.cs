using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>What a resume after an edit runs again: the tasks whose fingerprint changed, new and forced ones, and their
/// descendants through depends_on; scheduling settings change nothing.</summary>
public sealed class PlanEditsTests
{
    private const string Original = """
        { "tasks": [
          { "id": "fetch", "worker": "template", "with": { "text": "data" } },
          { "id": "left", "worker": "template", "depends_on": ["fetch"], "with": { "text": "L {{fetch}}" } },
          { "id": "right", "worker": "template", "depends_on": ["fetch"], "with": { "text": "R {{fetch}}" } },
          { "id": "right-more", "worker": "template", "depends_on": ["right"], "with": { "text": "{{right}}!" } },
          { "id": "join", "worker": "template", "depends_on": ["left", "right-more"], "with": { "text": "{{left}} {{right-more}}" } },
          { "id": "tidy", "worker": "simulate", "after": ["join"], "with": { "seconds": 0 } } ] }
        """;

    private static readonly ParallelFlowEngine Engine = new();

    private static (PlanEdit Edit, PlanDefinition Plan) Compare(string before, string after, params string[] from)
    {
        var old = PlanLoader.Parse(before, PlanFormat.Json, "plan.json", Engine.Catalog);
        var now = PlanLoader.Parse(after, PlanFormat.Json, "plan.json", Engine.Catalog);
        return (PlanEdits.Compare(PlanEdits.Fingerprints(old, Engine.Catalog), now, PlanEdits.Fingerprints(now, Engine.Catalog), from), now);
    }

    [Fact]
    public void An_unchanged_plan_runs_nothing_again_and_scheduling_settings_are_not_changes()
    {
        var rescheduled = Original
            .Replace("\"with\": { \"text\": \"data\" }", "\"with\": { \"text\": \"data\" }, \"priority\": \"high\", \"timeout_seconds\": 5, \"estimate_seconds\": 9, \"retry\": { \"max_attempts\": 4 }", StringComparison.Ordinal)
            .Replace("\"after\": [\"join\"], ", string.Empty, StringComparison.Ordinal);

        Assert.True(Compare(Original, Original).Edit.IsEmpty);
        Assert.True(Compare(Original, rescheduled).Edit.IsEmpty);
    }

    [Fact]
    public void A_changed_middle_task_runs_again_with_its_descendants_only()
    {
        var (edit, _) = Compare(Original, Original.Replace("\"R {{fetch}}\"", "\"Right: {{fetch}}\"", StringComparison.Ordinal));

        Assert.Equal(["right", "right-more", "join"], edit.Edits.Select(e => e.TaskId));
        Assert.Equal(["with.text: \"R {{fetch}}\" then, \"Right: {{fetch}}\" now"], edit.Edits[0].Reasons);
        Assert.False(edit.Edits[0].Inherited);
        Assert.Equal(["it depends on 'right', which runs again"], edit.Edits[1].Reasons);
        Assert.True(edit.Edits[2].Inherited);
        // 'tidy' only comes after 'join' (after, not depends_on): it receives nothing from it, so it keeps its output.
        Assert.DoesNotContain("tidy", edit.Rerun);
        Assert.Empty(edit.Removed);
    }

    [Fact]
    public void New_removed_rewired_and_forced_tasks_are_each_named_with_why()
    {
        var edited = Original
            .Replace("\"depends_on\": [\"left\", \"right-more\"]", "\"depends_on\": [\"left\", \"right\"]", StringComparison.Ordinal)
            .Replace("{ \"id\": \"right-more\", \"worker\": \"template\", \"depends_on\": [\"right\"], \"with\": { \"text\": \"{{right}}!\" } },", string.Empty, StringComparison.Ordinal)
            .Replace("\"{{left}} {{right-more}}\"", "\"{{left}} {{right}}\"", StringComparison.Ordinal)
            .Replace("{ \"id\": \"tidy\"", "{ \"id\": \"report\", \"worker\": \"template\", \"depends_on\": [\"join\"], \"with\": { \"text\": \"{{join}}\" } },\n  { \"id\": \"tidy\"", StringComparison.Ordinal);

        var (edit, _) = Compare(Original, edited, "left");

        Assert.Equal(["left", "join", "report"], edit.Edits.Select(e => e.TaskId));
        Assert.Equal(["asked for with --from"], edit.Edits[0].Reasons);
        Assert.Contains("with.text: \"{{left}} {{right-more}}\" then, \"{{left}} {{right}}\" now", edit.Edits[1].Reasons);
        Assert.Contains("it depends on 'right' now", edit.Edits[1].Reasons);
        Assert.Contains("it no longer depends on 'right-more'", edit.Edits[1].Reasons);
        Assert.Equal(["a new task"], edit.Edits[2].Reasons);
        Assert.Equal(["right-more"], edit.Removed);
    }

    [Fact]
    public void A_worker_or_description_change_is_a_change_and_long_values_are_cut()
    {
        var long1 = new string('x', 100);
        var before = Original.Replace("\"data\"", $"\"{long1}\"", StringComparison.Ordinal);
        var after = Original
            .Replace("\"id\": \"tidy\", \"worker\": \"simulate\"", "\"id\": \"tidy\", \"worker\": \"template\", \"description\": \"clean up\"", StringComparison.Ordinal)
            .Replace("\"with\": { \"seconds\": 0 }", "\"with\": { \"text\": \"done\" }", StringComparison.Ordinal);

        var (edit, _) = Compare(before, after);

        var fetch = edit.Edits.Single(e => e.TaskId == "fetch");
        Assert.Equal($"with.text: \"{new string('x', 56)}... then, \"data\" now", fetch.Reasons.Single());
        var tidy = edit.Edits.Single(e => e.TaskId == "tidy");
        Assert.Contains("worker: 'simulate' then, 'template' now", tidy.Reasons);
        Assert.Contains("description: '' then, 'clean up' now", tidy.Reasons);
        // Both are built into the engine: one assembly, one version.
        Assert.DoesNotContain(tidy.Reasons, r => r.StartsWith("worker version", StringComparison.Ordinal));
    }

    [Fact]
    public void From_names_a_task_of_the_plan_or_suggests_one()
    {
        var error = Assert.Throws<KeyNotFoundException>(() => Compare(Original, Original, "rigth"));

        Assert.Equal("the plan has no task 'rigth'; did you mean 'right'?", error.Message);
    }
}
