using System.Collections.Concurrent;
using CsCheck;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>The journal's group commit: one write per batch of finished tasks; a task counts as finished only once the
/// write holding it returned; entries are durable in an order that a resumed run can trust.</summary>
public sealed class GroupCommitTests
{
    private static readonly Gen<RandomDag> Dags =
        Gen.Select(Gen.Int[1, 40], Gen.Int, Gen.Int[1, 6], Gen.Double[0, 0.3],
            (count, seed, workers, failureRate) => RandomDag.Create(count, seed, workers, failureRate));

    [Fact]
    public Task EveryTask_IsRecordedOnce_AfterTheTasksItDependsOn_WithTheSameOutcomeAsWithoutAJournal() =>
        Dags.SampleAsync(async dag =>
        {
            var runs = dag.Runs();
            var probe = new Probe { NeverRuns = [.. Enumerable.Range(0, dag.Count).Where(i => !runs[i]).Select(RandomDag.Id)] };
            var journal = new RecordingJournal();
            var result = await EngineFor(dag, probe).RunAsync(dag.ToPlan(), new RunOptions { Journal = journal }).Within();

            Assert.Empty(probe.Violations);
            var finished = journal.Entries.Where(e => e.Finished is not null).Select(e => e.TaskId).ToList();
            Assert.Equal(finished.Count, finished.Distinct().Count());
            var ran = result.Tasks.Where(t => t.Attempts > 0).Select(t => t.TaskId).Order().ToList();
            Assert.Equal(ran, finished.Order().ToList());

            // Durable in an order closed under dependencies: whatever prefix of the entries a crash keeps, a recorded
            // success never lacks the recorded successes it was computed from.
            var position = finished.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
            for (var i = 0; i < dag.Count; i++)
            {
                if (position.TryGetValue(RandomDag.Id(i), out var at))
                {
                    Assert.All(dag.HardPredecessors[i], p => Assert.True(position[RandomDag.Id(p)] < at, $"t{i} recorded before its dependency t{p}"));
                }
            }

            // Each attempt is recorded before its task's end.
            var entries = journal.Entries.ToList();
            Assert.All(entries.Where(e => e.Finished is not null), e =>
                Assert.Contains(entries.Take(entries.IndexOf(e)), a => a.Finished is null && a.TaskId == e.TaskId));

            var expected = Enumerable.Range(0, dag.Count).Select(i => !runs[i] ? TaskRunStatus.Skipped : dag.Fails[i] ? TaskRunStatus.Failed : TaskRunStatus.Succeeded);
            Assert.Equal(expected, result.Tasks.Select(t => t.Status));
        }, iter: 150);

    [Fact]
    public async Task ATask_CountsAsFinished_OnlyOnceItsBatchIsDurable()
    {
        var journal = new RecordingJournal { Hold = new SemaphoreSlim(0) };
        var plan = new PlanBuilder("durable")
            .AddTask("a", "template", t => t.With(new { text = "alpha" }))
            .AddTask("b", "template", t => t.DependsOn("a").With(new { text = "{{a}} beta" }))
            .Build();
        var run = new ParallelFlowEngine().Compile(plan).Start(new RunOptions { Journal = journal, StreamEvents = true, Workers = 1 });
        var finishedEvents = new ConcurrentQueue<string>();
        var reading = Task.Run(async () =>
        {
            await foreach (var e in run.ReadEventsAsync())
            {
                if (e.Kind == RunEventKind.TaskFinished)
                {
                    finishedEvents.Enqueue(e.TaskId!);
                }
            }
        });

        // The first write (a's end) is held: a does not count as finished, and the run cannot complete.
        await journal.Writing.WaitAsync().Within();
        Assert.False(run.Completion.IsCompleted);
        Assert.DoesNotContain("a", finishedEvents);

        journal.Hold.Release(2);
        var result = await run.Completion.Within();
        await reading.Within();

        Assert.Equal(["a", "b"], finishedEvents);
        Assert.Equal("alpha beta", result["b"].Result!.Text);
        Assert.Equal(2, journal.Batches.Count);
    }

    [Fact]
    public async Task TasksFinishingDuringAWrite_ShareTheNextOne()
    {
        // 20 independent tasks on 2 workers: while the first write is held, the other worker runs the other 19.
        var journal = new RecordingJournal { Hold = new SemaphoreSlim(0) };
        var executed = 0;
        var builder = new PlanBuilder("wide").WithWorkers(2);
        for (var i = 0; i < 20; i++)
        {
            builder.AddTask($"t{i}", (_, _) =>
            {
                Interlocked.Increment(ref executed);
                return ValueTask.FromResult(TaskResult.Empty);
            });
        }

        var run = new ParallelFlowEngine().Compile(builder.Build()).Start(new RunOptions { Journal = journal });
        await journal.Writing.WaitAsync().Within();
        for (var i = 0; i < 400 && Volatile.Read(ref executed) < 20; i++)
        {
            await Task.Delay(5);
        }

        Assert.Equal(20, Volatile.Read(ref executed));
        journal.Hold.Release(20);
        var result = await run.Completion.Within();

        Assert.All(result.Tasks, t => Assert.Equal(TaskRunStatus.Succeeded, t.Status));
        Assert.Equal(20, journal.Entries.Count(e => e.Finished is not null));
        Assert.Equal(2, journal.Batches.Count);
    }

    [Fact]
    public async Task AJournalThatFails_IsLogged_AndTheRunGoesOn()
    {
        var journal = new RecordingJournal { Fail = true };
        var plan = new PlanBuilder("failing-journal")
            .AddTask("a", "template", t => t.With(new { text = "alpha" }))
            .AddTask("b", "template", t => t.DependsOn("a").With(new { text = "{{a}} beta" }))
            .Build();

        var result = await new ParallelFlowEngine().RunAsync(plan, new RunOptions { Journal = journal }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal("alpha beta", result["b"].Result!.Text);
    }

    private static ParallelFlowEngine EngineFor(RandomDag dag, Probe probe)
    {
        (IEnumerable<string>, IEnumerable<string>) Dependencies(string id)
        {
            var task = int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture);
            return (dag.HardPredecessors[task].Select(RandomDag.Id), dag.SoftPredecessors[task].Select(RandomDag.Id));
        }

        return TestEngines.With(null, [.. RandomDag.WorkerTypes.Select(type => (type, probe.WorkerFor(type, Dependencies)))]);
    }

    /// <summary>Keeps every entry in the order written, and can hold writes until the test lets them through.</summary>
    private sealed class RecordingJournal : IRunJournal
    {
        private int _inside;

        public ConcurrentQueue<JournalEntry> Entries { get; } = new();

        public List<IReadOnlyList<JournalEntry>> Batches { get; } = [];

        public SemaphoreSlim? Hold { get; init; }

        public SemaphoreSlim Writing { get; } = new(0);

        public bool Fail { get; init; }

        public void AttemptStarted(string runId, string taskId, int attempt, DateTimeOffset at) => throw new InvalidOperationException("batches only");

        public void TaskFinished(string runId, TaskRunResult task) => throw new InvalidOperationException("batches only");

        public void Record(IReadOnlyList<JournalEntry> entries)
        {
            // The engine writes one batch at a time per run.
            Assert.Equal(1, Interlocked.Increment(ref _inside));
            try
            {
                Writing.Release();
                Hold?.Wait();
                if (Fail)
                {
                    throw new InvalidOperationException("the disk is full");
                }

                Batches.Add([.. entries]);
                foreach (var entry in entries)
                {
                    Entries.Enqueue(entry);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _inside);
            }
        }
    }
}
