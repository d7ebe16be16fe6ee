using System.Collections.Concurrent;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>A worker that keeps no request past its attempt (<see cref="ParallelFlowWorker.KeepsRequests"/> false) may be
/// handed one request object, filled in again, attempt after attempt on a thread; never one another attempt still has,
/// and never with anything of the attempt before. A worker that keeps its requests gets a new one every attempt.</summary>
public sealed class RequestReuseTests
{
    [Fact]
    public async Task A_chain_of_a_worker_that_keeps_no_request_runs_on_one_request_object_each_attempt_filled_in_as_its_own()
    {
        var worker = new Recorder(keepsRequests: false);
        var plan = new PlanBuilder("chain").WithWorkers(1);
        for (var i = 0; i < 50; i++)
        {
            var index = i;
            plan.AddTask($"t{i}", "recorder", t => t.DependsOn(index == 0 ? [] : [$"t{index - 1}"]).With(new { n = index }));
        }

        using var result = await TestEngines.With(null, ("recorder", worker)).RunAsync(plan.Build(), new RunOptions { Workers = 1 }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal(50, worker.Seen.Count);
        foreach (var seen in worker.Seen)
        {
            // What the attempt read was its own task's: id, parameters, attempt, its dependency's output.
            Assert.Equal($"t{seen.N}", seen.TaskId);
            Assert.Equal(1, seen.Attempt);
            Assert.Equal(seen.N == 0 ? "" : $"t{seen.N - 1}=out t{seen.N - 1}", seen.Dependencies);
        }

        // One thread ran the chain's tasks one after another: far fewer objects than attempts.
        Assert.True(worker.Seen.Select(s => s.Request).Distinct(ReferenceEqualityComparer.Instance).Count() < 10,
            $"{worker.Seen.Select(s => s.Request).Distinct(ReferenceEqualityComparer.Instance).Count()} request objects for 50 attempts");
        Assert.All(result.Tasks, t => Assert.Equal($"out {t.TaskId}", t.Output));
    }

    [Fact]
    public async Task A_worker_that_keeps_its_requests_gets_a_new_one_every_attempt()
    {
        var worker = new Recorder(keepsRequests: true);
        var plan = new PlanBuilder("chain").WithWorkers(1);
        for (var i = 0; i < 30; i++)
        {
            var index = i;
            plan.AddTask($"t{i}", "recorder", t => t.DependsOn(index == 0 ? [] : [$"t{index - 1}"]).With(new { n = index }));
        }

        using var result = await TestEngines.With(null, ("recorder", worker)).RunAsync(plan.Build(), new RunOptions { Workers = 1 }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal(30, worker.Seen.Select(s => s.Request).Distinct(ReferenceEqualityComparer.Instance).Count());
    }

    [Fact]
    public async Task A_task_with_retries_gets_a_request_of_its_own_for_each_attempt()
    {
        var worker = new Recorder(keepsRequests: false) { FailFirstAttemptOf = "b" };
        var plan = new PlanBuilder("retried").WithWorkers(1)
            .AddTask("a", "recorder", t => t.With(new { n = 0 }))
            .AddTask("b", "recorder", t => t.DependsOn("a").With(new { n = 1 }).Retry(new RetrySettings { MaxAttempts = 2, InitialDelaySeconds = 0, Jitter = false }));

        using var result = await TestEngines.With(null, ("recorder", worker)).RunAsync(plan.Build(), new RunOptions { Workers = 1 }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        var attempts = worker.Seen.Where(s => s.TaskId == "b").ToList();
        Assert.Equal([1, 2], attempts.Select(s => s.Attempt));
        Assert.NotSame(attempts[0].Request, attempts[1].Request);
    }

    /// <summary>Random plans, several runs of each at once on two or three workers; the worker answers some attempts at
    /// once and some only after yielding its thread (while other attempts run there), and reads its request again at
    /// the end: a request another attempt has been handed would show that attempt's task.</summary>
    [Fact]
    public async Task Attempts_that_answer_later_keep_their_request_while_others_run_on_random_plans()
    {
        for (var seed = 0; seed < 20; seed++)
        {
            var random = new Random(seed);
            var count = random.Next(5, 60);
            var predecessors = Enumerable.Range(0, count)
                .Select(i => Enumerable.Range(0, i).Where(_ => random.NextDouble() < 2.5 / Math.Max(1, i)).ToArray())
                .ToArray();
            var worker = new Recorder(keepsRequests: false) { Later = new HashSet<int>(Enumerable.Range(0, count).Where(_ => random.NextDouble() < 0.3)) };
            var plan = new PlanBuilder($"random-{seed}").WithWorkers(random.Next(2, 4));
            for (var i = 0; i < count; i++)
            {
                var dependsOn = predecessors[i].Select(p => $"t{p}").ToArray();
                var index = i;
                plan.AddTask($"t{i}", "recorder", t => t.DependsOn(dependsOn).With(new { n = index }));
            }

            var compiled = TestEngines.With(null, ("recorder", worker)).Compile(plan.Build());
            var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => compiled.RunAsync())).Within();

            foreach (var result in results)
            {
                using (result)
                {
                    Assert.Equal(RunStatus.Succeeded, result.Status);
                    Assert.All(result.Tasks, t => Assert.Equal($"out {t.TaskId}", t.Output));
                }
            }

            Assert.Equal(4 * count, worker.Seen.Count);
            foreach (var seen in worker.Seen)
            {
                var expected = string.Join(',', predecessors[seen.N].Select(p => $"t{p}=out t{p}").Order(StringComparer.Ordinal));
                Assert.True(seen.TaskId == $"t{seen.N}" && seen.Dependencies == expected,
                    $"seed {seed}: an attempt of t{seen.N} read {seen.TaskId} with [{seen.Dependencies}]");
            }
        }
    }

    /// <summary>Records what each attempt read of its request: at its start, and again at its end, after yielding its
    /// thread for the tasks in <see cref="Later"/>. An attempt whose request changed under it is recorded as the other.</summary>
    private sealed class Recorder(bool keepsRequests) : ParallelFlowWorker
    {
        public ConcurrentQueue<Seen> Seen { get; } = new();

        public HashSet<int> Later { get; init; } = [];

        public string? FailFirstAttemptOf { get; init; }

        public override bool KeepsRequests => keepsRequests;

        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            var n = request.With.GetProperty("n").GetInt32();
            if (request.TaskId == FailFirstAttemptOf && request.Attempt == 1)
            {
                Record(request, n);
                return ValueTask.FromException<TaskResult>(new TransientTaskException("first attempt"));
            }

            return Later.Contains(n) ? AnswerLaterAsync(request, n) : ValueTask.FromResult(Answer(request, n));
        }

        private async ValueTask<TaskResult> AnswerLaterAsync(TaskRequest request, int n)
        {
            var taskId = request.TaskId;
            await Task.Yield();
            await Task.Delay(1).ConfigureAwait(false);
            Assert.Equal(taskId, request.TaskId);
            return Answer(request, n);
        }

        private TaskResult Answer(TaskRequest request, int n)
        {
            Record(request, n);
            return TaskResult.FromText($"out {request.TaskId}");
        }

        private void Record(TaskRequest request, int n) => Seen.Enqueue(new Seen(
            request, n, request.TaskId, request.Attempt,
            string.Join(',', request.DependencyOutputs.Select(d => $"{d.Key}={d.Value.Text}").Order(StringComparer.Ordinal))));
    }

    private sealed record Seen(TaskRequest Request, int N, string TaskId, int Attempt, string Dependencies);
}
