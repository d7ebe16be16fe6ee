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
        var plan = Chain(50, workers: 1);

        using var result = await TestEngines.With(null, ("recorder", worker)).RunAsync(plan, new RunOptions { Workers = 1 }).Within();

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
    public async Task Tasks_started_one_by_one_on_the_executor_reuse_the_request_their_threads_kept()
    {
        // Two worker types in turn along a chain: no task runs after the one before on that one's loop (another type's
        // block runs it), so every task is a loop of its own, started on a pool thread. Each loop takes the request its
        // thread kept from the loop before, and gives it back when it ends.
        var first = new Recorder(keepsRequests: false);
        var second = new Recorder(keepsRequests: false);
        var plan = new PlanBuilder("two-types").WithWorkers(2);
        for (var i = 0; i < 60; i++)
        {
            var index = i;
            plan.AddTask($"t{i}", i % 2 == 0 ? "first" : "second", t => t.DependsOn(index == 0 ? [] : [$"t{index - 1}"]).With(new { n = index }));
        }

        using var result = await TestEngines.With(null, ("first", first), ("second", second)).RunAsync(plan.Build(), new RunOptions { Workers = 2 }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        var seen = first.Seen.Concat(second.Seen).ToList();
        Assert.Equal(60, seen.Count);
        Assert.All(seen, s => Assert.Equal($"t{s.N}", s.TaskId));
        // A request per pool thread that ran a task, not one per task.
        var objects = seen.Select(s => s.Request).Distinct(ReferenceEqualityComparer.Instance).Count();
        Assert.True(objects < 20, $"{objects} request objects for 60 attempts, each its own loop");
    }

    [Fact]
    public async Task A_worker_that_keeps_its_requests_gets_a_new_one_every_attempt()
    {
        var worker = new Recorder(keepsRequests: true);
        var plan = Chain(30, workers: 1);

        using var result = await TestEngines.With(null, ("recorder", worker)).RunAsync(plan, new RunOptions { Workers = 1 }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal(30, worker.Seen.Select(s => s.Request).Distinct(ReferenceEqualityComparer.Instance).Count());
    }

    [Fact]
    public async Task A_task_with_retries_gets_a_request_of_its_own_for_each_attempt()
    {
        var worker = new Recorder(keepsRequests: false) { FailFirstAttemptOf = "b" };
        var plan = new PlanBuilder("retried").WithWorkers(1)
            .AddTask("a", "recorder", t => t.With(new { n = 0 }))
            .AddTask("b", "recorder", t => t.DependsOn("a").With(new { n = 1 }).Retry(new RetrySettings { MaxAttempts = 2, InitialDelaySeconds = 0, Jitter = false }))
            .Build();

        using var result = await TestEngines.With(null, ("recorder", worker)).RunAsync(plan, new RunOptions { Workers = 1 }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        var attempts = worker.Seen.Where(s => s.TaskId == "b").ToList();
        Assert.Equal([1, 2], attempts.Select(s => s.Attempt));
        Assert.NotSame(attempts[0].Request, attempts[1].Request);
    }

    [Fact]
    public async Task Runs_of_plans_with_and_without_inputs_and_watchers_in_turn_each_see_their_own_inputs_progress_and_token()
    {
        var worker = new ScopeRecorder();
        var engine = TestEngines.With(null, ("scoped", worker));
        var withInputs = engine.Compile(PlanLoader.Parse("""
            id: with-inputs
            inputs:
              word: { type: string }
            tasks:
              - { id: a, worker: scoped, with: { say: "{{inputs.word}}" } }
              - { id: b, worker: scoped, depends_on: [a] }
            """, PlanFormat.Yaml, "with-inputs.yaml", engine.Catalog));
        var without = engine.Compile(new PlanBuilder("without").AddTask("a", "scoped").AddTask("b", "scoped", t => t.DependsOn("a")).Build());

        for (var round = 0; round < 10; round++)
        {
            var word = $"w{round}";
            var watched = withInputs.Start(new RunOptions { Workers = 1, StreamEvents = true, Inputs = new Dictionary<string, System.Text.Json.JsonElement> { ["word"] = System.Text.Json.JsonSerializer.SerializeToElement(word) } });
            var progress = new List<string>();
            await foreach (var e in watched.ReadEventsAsync())
            {
                if (e.Kind == RunEventKind.TaskOutput)
                {
                    progress.Add($"{e.TaskId}:{e.Message}");
                }
            }

            using (var result = await watched.Completion.Within())
            {
                Assert.Equal(RunStatus.Succeeded, result.Status);
            }

            using (var result = await without.RunAsync(new RunOptions { Workers = 1 }).Within())
            {
                Assert.Equal(RunStatus.Succeeded, result.Status);
            }

            Assert.Equal([$"a:{word}", $"b:{word}"], progress);
        }

        // Every attempt read its own run's inputs and the token it was handed; a run without inputs saw none.
        Assert.Equal(40, worker.Seen.Count);
        Assert.All(worker.Seen, seen => Assert.True(seen.SameToken, $"{seen.Plan}/{seen.TaskId}: the request's token is not the attempt's"));
        Assert.All(worker.Seen.Where(s => s.Plan == "without"), seen => Assert.Equal("", seen.Inputs));
        Assert.Equal(Enumerable.Range(0, 10).SelectMany(r => new[] { $"w{r}", $"w{r}" }), worker.Seen.Where(s => s.Plan == "with-inputs").Select(s => s.Inputs));
    }

    [Fact]
    public async Task An_emptied_request_has_every_field_as_a_new_request_has_it()
    {
        // A request the engine filled in for an attempt with a dependency, inputs and a watcher: most fields set.
        var keeper = new Keeper();
        var engine = TestEngines.With(null, ("keeper", keeper));
        var compiled = engine.Compile(PlanLoader.Parse("""
            id: full
            inputs:
              word: { type: string, default: hello }
            tasks:
              - { id: a, worker: keeper }
              - { id: b, worker: keeper, depends_on: [a], with: { say: "{{inputs.word}}" } }
            """, PlanFormat.Yaml, "full.yaml", engine.Catalog));
        var run = compiled.Start(new RunOptions { StreamEvents = true });
        await foreach (var _ in run.ReadEventsAsync())
        {
        }

        using var result = await run.Completion.Within();
        var request = keeper.Requests.Single(r => r.TaskId == "b");
        var fresh = Activator.CreateInstance<TaskRequest>();
        var fields = typeof(TaskRequest).GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic);
        Assert.True(fields.Count(f => !Equals(f.GetValue(fresh), f.GetValue(request))) >= 4, "the attempt's request should differ from a new one");

        _ = typeof(TaskRequest).GetMethod("Emptied", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!.Invoke(request, null);

        // A field added to the request and not reset when it is filled in again would show here.
        Assert.All(fields, f => Assert.True(Equals(f.GetValue(fresh), f.GetValue(request)), $"{f.Name} is left over"));
    }

    [Fact]
    public async Task A_spare_request_keeps_no_finished_run_alive()
    {
        var worker = new Recorder(keepsRequests: false) { KeepsNothing = true };
        var plan = Chain(20, workers: 2);

        var compiled = TestEngines.With(null, ("recorder", worker)).Compile(plan);
        var run = await RunAndLetGoAsync(compiled);
        for (var i = 0; i < 5 && run.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            await Task.Delay(10);
        }

        // The threads that ran its tasks each keep a spare request, emptied: none refers to the run.
        Assert.False(run.IsAlive);
    }

    [Fact]
    public async Task A_thread_that_leaves_a_run_to_wait_for_a_worker_keeps_its_spare_request_emptied()
    {
        // t0 answers at once and gives its request back to its executor loop, which keeps it (not its thread); t1 (not
        // plain: it has a timeout, so no request is lent to it) answers later, and the thread leaves the run there.
        // What the thread holds once it has left is read on it, by a work item t1 queued to that thread's own queue: it
        // runs there once the thread is free (or another idle thread takes it, and that round proves nothing; there
        // are more). A spare kept by the thread during the loop would still be t0's.
        var checkedOnTheThread = 0;
        for (var round = 0; round < 20 && checkedOnTheThread < 3; round++)
        {
            var worker = new Leaver();
            var plan = new PlanBuilder("leaves").WithWorkers(1)
                .AddTask("t0", "leaver")
                .AddTask("t1", "leaver", t => t.DependsOn("t0").Timeout(TimeSpan.FromMinutes(1)))
                .Build();
            using var result = await TestEngines.With(null, ("leaver", worker)).Compile(plan).RunAsync().Within();
            Assert.Equal(RunStatus.Succeeded, result.Status);
            if (worker.SameThread)
            {
                checkedOnTheThread++;
                Assert.True(worker.SpareTaskId is null or "", $"the thread left the run with a spare request still t0's ({worker.SpareTaskId})");
            }
        }

        Assert.True(checkedOnTheThread > 0, "the check never ran on the thread that left");
    }

    /// <summary>Answers t0 at once; answers t1 from a work item queued to the thread t1 was called on, which first
    /// reads that thread's spare request.</summary>
    private sealed class Leaver : ParallelFlowWorker
    {
        private static readonly System.Reflection.FieldInfo Spare = typeof(FlowRun).GetField("t_spareRequest", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic)!;

        public bool SameThread { get; private set; }

        public string? SpareTaskId { get; private set; }

        public override bool KeepsRequests => false;

        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            if (request.TaskId == "t0")
            {
                return ValueTask.FromResult(TaskResult.FromText("now"));
            }

            var thread = Environment.CurrentManagedThreadId;
            var answer = new TaskCompletionSource<TaskResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            ThreadPool.UnsafeQueueUserWorkItem<object?>(_ =>
            {
                SameThread = Environment.CurrentManagedThreadId == thread;
                SpareTaskId = ((TaskRequest?)Spare.GetValue(null))?.TaskId;
                answer.SetResult(TaskResult.FromText("later"));
            }, null, preferLocal: true);
            return new ValueTask<TaskResult>(answer.Task);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> RunAndLetGoAsync(CompiledPlan compiled)
    {
        var run = compiled.Start(new RunOptions { Workers = 2 });
        var result = await run.Completion.Within();
        Assert.Equal(RunStatus.Succeeded, result.Status);
        return new WeakReference(run);
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
            var predecessors = RandomDag.Predecessors(random, count, edges: 2.5);
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

    /// <summary>A chain of <paramref name="count"/> recorder tasks, t0 to t(count−1), each given its number.</summary>
    private static PlanDefinition Chain(int count, int workers)
    {
        var plan = new PlanBuilder("chain").WithWorkers(workers);
        for (var i = 0; i < count; i++)
        {
            var index = i;
            plan.AddTask($"t{i}", "recorder", t => t.DependsOn(index == 0 ? [] : [$"t{index - 1}"]).With(new { n = index }));
        }

        return plan.Build();
    }

    /// <summary>Records what each attempt read of its request: at its start, and again at its end, after yielding its
    /// thread for the tasks in <see cref="Later"/>. An attempt whose request changed under it is recorded as the other.</summary>
    private sealed class Recorder(bool keepsRequests) : ParallelFlowWorker
    {
        public ConcurrentQueue<Seen> Seen { get; } = new();

        public HashSet<int> Later { get; init; } = [];

        public string? FailFirstAttemptOf { get; init; }

        /// <summary>Records nothing, so that nothing of the test holds a request.</summary>
        public bool KeepsNothing { get; init; }

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

        private void Record(TaskRequest request, int n)
        {
            if (!KeepsNothing)
            {
                Seen.Enqueue(new Seen(
                    request, n, request.TaskId, request.Attempt,
                    string.Join(',', request.DependencyOutputs.Select(d => $"{d.Key}={d.Value.Text}").Order(StringComparer.Ordinal))));
            }
        }
    }

    private sealed record Seen(TaskRequest Request, int N, string TaskId, int Attempt, string Dependencies);

    /// <summary>Keeps no request (it says so), and records what each attempt read of its run's scope: the plan, its
    /// inputs, whether the request's token is the one handed to it; reports its input as progress.</summary>
    private sealed class ScopeRecorder : ParallelFlowWorker
    {
        public ConcurrentQueue<(string Plan, string TaskId, string Inputs, bool SameToken)> Seen { get; } = new();

        public override bool KeepsRequests => false;

        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            var inputs = string.Join(',', request.Inputs.Select(i => i.Value.GetString()));
            var plan = request.Inputs.Count == 0 ? "without" : "with-inputs";
            Seen.Enqueue((plan, request.TaskId, inputs, request.CancellationToken == cancellationToken));
            request.Progress.Report(inputs);
            return ValueTask.FromResult(TaskResult.FromText(inputs));
        }
    }

    /// <summary>Keeps every request it is handed (it says so: it gets new ones).</summary>
    private sealed class Keeper : ParallelFlowWorker
    {
        public ConcurrentQueue<TaskRequest> Requests { get; } = new();

        public override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            _ = request.DependencyOutputs.Count;
            Requests.Enqueue(request);
            return ValueTask.FromResult(TaskResult.FromText("kept"));
        }
    }
}
