using System.Text.Json;
using CsCheck;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Reporting;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests.Reporting;

/// <summary>What a run records for its timeline (each attempt on its worker slot), and the Chrome trace made from it:
/// the event format's required fields, one slice per attempt, waits and retries, flows along dependencies.</summary>
public sealed class TimelineTests
{
    [Fact]
    public void Over_random_graphs_a_slot_runs_one_attempt_at_a_time_and_the_trace_has_a_slice_per_attempt()
    {
        Gen.Select(Gen.Int[1, 60], Gen.Int[1, 4], Gen.Int[0, 10_000]).Sample((count, workers, seed) =>
        {
            var dag = RandomDag.Create(count, seed, workers, failureRate: 0.2);
            var result = TestEngines.ForRandomDag(dag, new Probe()).RunAsync(dag.ToPlan(), new RunOptions { Workers = workers, RecordAttempts = true }).Within().GetAwaiter().GetResult();

            var attempts = result.Tasks.SelectMany(t => t.AttemptLog.Select(a => (Task: t, Attempt: a))).ToList();
            Assert.Equal(result.Tasks.Sum(t => t.Attempts), attempts.Count);
            foreach (var (task, attempt) in attempts)
            {
                Assert.InRange(attempt.Slot, 1, result.Workers);
                Assert.True(attempt.EndedAt >= attempt.StartedAt);
                Assert.True(task.ReadyAt is { } ready && ready <= attempt.StartedAt, $"{task.TaskId} started before it was ready");
            }

            foreach (var slot in attempts.GroupBy(a => a.Attempt.Slot))
            {
                var ordered = slot.OrderBy(a => a.Attempt.StartedAt).ToList();
                for (var i = 1; i < ordered.Count; i++)
                {
                    Assert.True(ordered[i].Attempt.StartedAt >= ordered[i - 1].Attempt.EndedAt,
                        $"slot {slot.Key}: {ordered[i].Task.TaskId} started before {ordered[i - 1].Task.TaskId} ended");
                }
            }

            var trace = Trace(result);
            Assert.Equal(attempts.Count, trace.Count(e => e.GetProperty("ph").GetString() == "X" && e.GetProperty("cat").GetString()!.StartsWith("attempt", StringComparison.Ordinal)));
        }, iter: 40);
    }

    [Fact]
    public async Task A_retried_task_shows_each_attempt_its_error_and_the_delay_and_the_trace_has_the_required_fields()
    {
        var plan = PlanText.Json("""
            { "id": "retries", "retry": { "max_attempts": 3, "initial_delay": 0.001, "backoff_multiplier": 1 },
              "tasks": [
                { "id": "first", "worker": "simulate", "with": { "seconds": 0 } },
                { "id": "flaky", "worker": "simulate", "depends_on": ["first"], "with": { "seconds": 0, "fail_attempts": 2 } },
                { "id": "last", "worker": "simulate", "depends_on": ["flaky"], "after": ["first"], "with": { "seconds": 0 } } ] }
            """);
        var result = await TestEngines.With().RunAsync(plan, new RunOptions { Workers = 2, RecordAttempts = true }).Within();

        var flaky = result["flaky"];
        Assert.Equal(3, flaky.AttemptLog.Count);
        Assert.Equal([1, 2, 3], flaky.AttemptLog.Select(a => a.Attempt));
        Assert.Equal([TaskRunStatus.Failed, TaskRunStatus.Failed, TaskRunStatus.Succeeded], flaky.AttemptLog.Select(a => a.Status));
        Assert.Contains("simulated transient failure", flaky.AttemptLog[0].Error, StringComparison.Ordinal);
        Assert.NotNull(flaky.AttemptLog[0].RetryDelay);
        Assert.Null(flaky.AttemptLog[2].RetryDelay);
        Assert.Equal(["first"], flaky.DependsOn);
        Assert.Equal(["first"], result["last"].After);

        var trace = Trace(result);
        foreach (var e in trace)
        {
            // The trace event format's required fields: a name, a phase, a process and a thread; a timestamp for
            // every event but metadata; a duration for complete events; an id for async and flow events.
            Assert.True(e.TryGetProperty("name", out _) && e.TryGetProperty("pid", out _) && e.TryGetProperty("tid", out _), e.ToString());
            var phase = e.GetProperty("ph").GetString();
            Assert.Contains(phase, new[] { "M", "X", "b", "e", "s", "f" });
            if (phase != "M")
            {
                Assert.True(e.GetProperty("ts").GetInt64() >= 0, e.ToString());
            }

            if (phase == "X")
            {
                Assert.True(e.GetProperty("dur").GetInt64() >= 1, e.ToString());
            }

            if (phase is "b" or "e" or "s" or "f")
            {
                Assert.True(e.TryGetProperty("id", out _), e.ToString());
            }
        }

        var slices = trace.Where(e => e.GetProperty("ph").GetString() == "X").ToList();
        Assert.Equal(["flaky (attempt 1)", "flaky (attempt 2)", "flaky (attempt 3)"], slices.Select(e => e.GetProperty("name").GetString()).Where(n => n!.StartsWith("flaky", StringComparison.Ordinal)));
        Assert.Equal(2, slices.Count(e => e.GetProperty("cat").GetString() == "retry"));
        Assert.Equal("bad", slices.First(e => e.GetProperty("name").GetString() == "flaky (attempt 1)").GetProperty("cname").GetString());

        // Flows: first → flaky, flaky → last, first → last (after): each a start and a finish with one id.
        var flows = trace.Where(e => e.TryGetProperty("cat", out var cat) && cat.GetString() == "dependency").GroupBy(e => e.GetProperty("id").GetInt32()).ToList();
        Assert.Equal(3, flows.Count);
        Assert.All(flows, f => Assert.Equal(["f", "s"], f.Select(e => e.GetProperty("ph").GetString()).Order(StringComparer.Ordinal)));
        Assert.Contains(flows, f => f.First().GetProperty("name").GetString() == "first → last");

        var threads = trace.Where(e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("name").GetString() == "thread_name").Select(e => e.GetProperty("args").GetProperty("name").GetString());
        Assert.Contains("worker 1", threads);
    }

    [Fact]
    public void A_report_without_slots_is_laid_out_on_the_fewest_slots_that_fit()
    {
        using var report = JsonDocument.Parse("""
            { "task_id": "p", "run_id": "r", "status": "succeeded", "started_at": "2026-01-01T00:00:00Z", "results": [
              { "id": "a", "worker": "w", "status": "succeeded", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:02Z" },
              { "id": "b", "worker": "w", "status": "succeeded", "start": "2026-01-01T00:00:01Z", "end": "2026-01-01T00:00:03Z" },
              { "id": "c", "worker": "w", "status": "failed", "start": "2026-01-01T00:00:02Z", "end": "2026-01-01T00:00:04Z", "depends_on": ["a"] } ] }
            """);

        using var stream = new MemoryStream();
        ChromeTrace.Write(report.RootElement, stream);
        var events = JsonDocument.Parse(stream.ToArray()).RootElement.GetProperty("traceEvents").EnumerateArray().ToList();

        var slots = events.Where(e => e.GetProperty("ph").GetString() == "X").ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("tid").GetInt32());
        Assert.Equal(1, slots["a"]);
        Assert.Equal(2, slots["b"]);
        Assert.Equal(1, slots["c"]);
        Assert.Equal(2_000_000, events.Single(e => e.GetProperty("name").GetString() == "c").GetProperty("ts").GetInt64());
    }

    private static List<JsonElement> Trace(RunResult result)
    {
        using var stream = new MemoryStream();
        ChromeTrace.Write(result, stream);
        using var document = JsonDocument.Parse(stream.ToArray());
        Assert.Equal("ms", document.RootElement.GetProperty("displayTimeUnit").GetString());
        return [.. document.RootElement.GetProperty("traceEvents").EnumerateArray().Select(e => e.Clone())];
    }
}
