using System.Text.Json;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Plugins;
using ParallelFlow.Engine.Reporting;
using ParallelFlow.Plugins.Voting;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Voting;

/// <summary>The <c>vote</c> task run by the engine, with scripted candidate workers.</summary>
public sealed class VoteTaskTests
{
    // The engine's grace period for cancelled workers is armed whenever a candidate is stopped; the tests wait for the
    // timers of the candidates themselves.
    private readonly ObservedClock _time = new ObservedClock().Ignoring(TimeSpan.FromSeconds(5));

    [Fact]
    public async Task The_winner_output_flows_to_dependents_and_the_report_records_the_decision()
    {
        var engine = Engine();
        var plan = Parse("""
            { "tasks": [
              { "id": "pick", "worker": "vote", "description": "the answer", "with": {
                  "scorer": "consensus",
                  "candidates": [
                    { "name": "one", "worker": "answer", "with": { "text": "42" } },
                    { "name": "two", "worker": "answer", "with": { "text": "41" } },
                    { "name": "three", "worker": "answer", "with": { "text": "42." } },
                    { "name": "broken", "worker": "answer", "with": { "fail": "no luck" } } ] } },
              { "id": "use", "worker": "template", "depends_on": ["pick"], "with": { "text": "got {{pick}}" } } ] }
            """, engine);

        var result = await engine.RunAsync(plan);

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal("got 42", result["use"].Result!.Text);
        var decision = Decision(result, "pick");
        Assert.Equal("one", decision.GetProperty("winner").GetString());
        Assert.Equal("consensus", decision.GetProperty("scorer").GetString());
        Assert.Contains("2 of 3 answers agree", decision.GetProperty("rationale").GetString());
        var candidates = decision.GetProperty("candidates").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal("41", candidates["two"].GetProperty("output").GetString());
        Assert.Equal(2.0 / 3, candidates["three"].GetProperty("scores").GetProperty("agreement").GetDouble(), 5);
        Assert.Equal("failed", candidates["broken"].GetProperty("status").GetString());
        Assert.Equal("no luck", candidates["broken"].GetProperty("error").GetString());
        Assert.False(candidates["broken"].TryGetProperty("total", out _));

        using var report = new MemoryStream();
        RunReport.Write(result, report);
        var written = JsonDocument.Parse(report.ToArray()).RootElement;
        var task = written.GetProperty("results").EnumerateArray().Single(t => t.GetProperty("id").GetString() == "pick");
        Assert.Equal("42", task.GetProperty("output").GetString());
        Assert.Equal("one", task.GetProperty("decision").GetProperty("winner").GetString());
    }

    [Fact]
    public async Task All_candidates_failing_fails_the_vote_alone()
    {
        var engine = Engine();
        var plan = Parse("""
            { "tasks": [
              { "id": "pick", "worker": "vote", "with": { "scorer": "consensus", "candidates": [
                  { "name": "a", "worker": "answer", "with": { "fail": "a broke" } },
                  { "name": "b", "worker": "answer", "with": { "fail": "b broke" } } ] } },
              { "id": "other", "worker": "answer", "with": { "text": "fine" } } ] }
            """, engine);

        var result = await engine.RunAsync(plan);

        Assert.Equal(TaskRunStatus.Failed, result["pick"].Status);
        Assert.Equal("quorum not met: 0 of 2 candidates succeeded, the quorum is 1 (a: a broke; b: b broke)", result["pick"].Error);
        Assert.Equal(TaskRunStatus.Succeeded, result["other"].Status);
    }

    [Fact]
    public async Task A_quorum_above_the_successes_fails_with_the_counts()
    {
        var engine = Engine();
        var plan = Parse("""
            { "tasks": [ { "id": "pick", "worker": "vote", "with": { "scorer": "consensus", "quorum": 2, "candidates": [
                  { "name": "a", "worker": "answer", "with": { "text": "yes" } },
                  { "name": "b", "worker": "answer", "with": { "fail": "down" } } ] } } ] }
            """, engine);

        var result = await engine.RunAsync(plan);

        Assert.StartsWith("quorum not met: 1 of 2 candidates succeeded, the quorum is 2", result["pick"].Error);
    }

    [Fact]
    public async Task A_candidate_past_its_timeout_is_recorded_and_left_out()
    {
        var engine = Engine();
        var plan = Parse("""
            { "tasks": [ { "id": "pick", "worker": "vote", "with": { "scorer": "consensus", "candidate_timeout_seconds": 5, "candidates": [
                  { "name": "quick", "worker": "answer", "with": { "text": "yes", "seconds": 1 } },
                  { "name": "slow", "worker": "answer", "with": { "text": "no", "seconds": 60 } } ] } } ] }
            """, engine);

        var run = engine.Compile(plan).Start(new RunOptions { StreamEvents = true });
        // Each candidate's 5 s timeout has the grace period's length, which the clock does not report; it reports the
        // two sleeps (1 s, 60 s). The quick answer is in after a second; only then does the clock reach the timeout.
        await _time.TimersAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        _time.Advance(TimeSpan.FromSeconds(1));
        await foreach (var e in run.ReadEventsAsync().WithCancellation(new CancellationTokenSource(Bounded.Limit).Token))
        {
            if (e.Message?.StartsWith("candidate quick: succeeded", StringComparison.Ordinal) == true)
            {
                break;
            }
        }

        Advance(TimeSpan.FromSeconds(1), times: 4);
        var result = await run.Completion.Within();
        var decision = Decision(result, "pick");
        Assert.Equal("quick", decision.GetProperty("winner").GetString());
        var slow = decision.GetProperty("candidates").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "slow");
        Assert.Equal("timed_out", slow.GetProperty("status").GetString());
        Assert.Equal("timed out after 5s", slow.GetProperty("error").GetString());
        Assert.Equal(5, slow.GetProperty("duration_seconds").GetDouble(), 3);
    }

    [Fact]
    public async Task Consensus_decides_early_and_stops_the_candidates_still_running()
    {
        var engine = Engine();
        var plan = Parse("""
            { "tasks": [ { "id": "pick", "worker": "vote", "with": { "scorer": "consensus", "candidates": [
                  { "name": "a", "worker": "answer", "with": { "text": "blue" } },
                  { "name": "b", "worker": "answer", "with": { "text": "Blue" } },
                  { "name": "c", "worker": "answer", "with": { "text": "blue." } },
                  { "name": "stuck", "worker": "answer", "with": { "text": "red", "seconds": 3600 } } ] } } ] }
            """, engine);

        // No time is advanced: the stuck candidate can only end by being stopped.
        var result = await engine.RunAsync(plan).WaitAsync(TimeSpan.FromSeconds(30));

        var decision = Decision(result, "pick");
        Assert.True(decision.GetProperty("decided_early").GetBoolean());
        var stuck = decision.GetProperty("candidates").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "stuck");
        Assert.Equal("cancelled", stuck.GetProperty("status").GetString());
        Assert.Equal("stopped: the vote was decided early", stuck.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Early_decision_can_be_turned_off()
    {
        var engine = Engine();
        var plan = Parse("""
            { "tasks": [ { "id": "pick", "worker": "vote", "with": { "scorer": "consensus", "early_decision": false, "candidates": [
                  { "name": "a", "worker": "answer", "with": { "text": "blue" } },
                  { "name": "b", "worker": "answer", "with": { "text": "blue" } },
                  { "name": "late", "worker": "answer", "with": { "text": "red", "seconds": 10 } } ] } } ] }
            """, engine);

        var running = engine.RunAsync(plan);
        await _time.TimersAsync(TimeSpan.FromSeconds(10));
        Advance(TimeSpan.FromSeconds(1), times: 10);
        await running.Within();

        var late = Decision(await running, "pick").GetProperty("candidates").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "late");
        Assert.Equal("succeeded", late.GetProperty("status").GetString());
    }

    [Fact]
    public void Vote_problems_point_at_their_line_in_the_plan()
    {
        var engine = Engine();
        var errors = Assert.Throws<PlanValidationException>(() => Parse("""
            { "tasks": [ { "id": "pick", "worker": "vote", "with": {
                "scorer": "consensos",
                "quorum": 3,
                "candidates": [
                  { "name": "a", "worker": "answer" },
                  { "name": "b", "worker": "answr" } ] } } ] }
            """, engine)).Errors;

        Assert.Contains(errors, e => e.Message.Contains("unknown scorer 'consensos'. Did you mean 'consensus'?") && e.Position!.Value.Line == 2);
        Assert.Contains(errors, e => e.Message.Contains("candidate 'b': unknown worker 'answr'. Did you mean 'answer'?") && e.Position!.Value.Line == 6 && e.TaskId == "pick");
        Assert.Contains(errors, e => e.Message.Contains("the quorum is 3, but the vote has only 2 candidates"));
    }

    [Fact]
    public void Scorer_problems_are_found_before_the_run()
    {
        var engine = Engine();
        var errors = Assert.Throws<PlanValidationException>(() => Parse("""
            { "tasks": [ { "id": "pick", "worker": "vote", "with": {
                "scorer": "weighted",
                "scoring": { "criteria": [ { "name": "speed", "metric": "sped" } ] },
                "candidates": [ { "name": "a", "worker": "answer" } ] } } ] }
            """, engine)).Errors;

        var error = Assert.Single(errors);
        Assert.Contains("scorer 'weighted': criterion 'speed': unknown metric 'sped'", error.Message);
        Assert.Equal(3, error.Position!.Value.Line);
    }

    [Fact]
    public void A_typo_deep_in_a_scorers_parameters_is_found_at_its_line_with_the_key_it_meant()
    {
        var engine = Engine();
        var errors = Assert.Throws<PlanValidationException>(() => Parse("""
            { "tasks": [ { "id": "pick", "worker": "vote", "with": {
                "scorer": "weighted",
                "scoring": { "criteria": [
                  { "name": "speed", "metric": "duration" },
                  { "name": "quality",
                    "judge": { "rubrc": "Is it right?" } } ] },
                "candidates": [ { "name": "a", "worker": "answer" } ] } } ] }
            """, engine)).Errors;

        Assert.Contains(errors, e => e.Message.Contains("unknown parameter 'criteria[1].judge.rubrc'. Did you mean 'rubric'?") && e.Position!.Value.Line == 6 && e.TaskId == "pick");
        Assert.Contains(errors, e => e.Message.Contains("'criteria[1].judge.rubric' is required") && e.Position!.Value.Line == 6);
    }

    private ParallelFlowEngine Engine()
    {
        var catalog = BuiltInWorkers.CreateCatalog(_time);
        catalog.AddWorker("answer", new AnswerWorker(_time));
        PluginHost.Register(catalog, new VotingPlugin());
        return new ParallelFlowEngine(new EngineOptions { Catalog = catalog, TimeProvider = _time });
    }

    private static PlanDefinition Parse(string json, ParallelFlowEngine engine) => PlanLoader.Parse(json, PlanFormat.Json, "plan.json", engine.Catalog);

    private static JsonElement Decision(RunResult result, string task) => result[task].Result!.Record!.Value;

    private void Advance(TimeSpan step, int times)
    {
        for (var i = 0; i < times; i++)
        {
            _time.Advance(step);
        }
    }

    /// <summary>Answers <c>text</c> after <c>seconds</c> on the fake clock, or fails with <c>fail</c>.</summary>
    private sealed class AnswerWorker(TimeProvider time) : ParallelFlowWorker
    {
        public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            if (request.GetString("fail") is { } failure)
            {
                throw new FatalTaskException(failure);
            }

            if (request.GetDouble("seconds") is { } seconds)
            {
                await Task.Delay(TimeSpan.FromSeconds(seconds), time, cancellationToken);
            }

            return TaskResult.FromText(request.GetString("text") ?? string.Empty);
        }
    }
}
