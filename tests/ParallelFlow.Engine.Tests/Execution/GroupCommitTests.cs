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
            var result = await TestEngines.ForRandomDag(dag, probe).RunAsync(dag.ToPlan(), new RunOptions { Journal = journal }).Within();

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
    public async Task ATask_CountsAsFinished_OnlyOnceItsBatchIsDurable_WhileItsDependentsMayStart()
    {
        var journal = new RecordingJournal { Hold = new SemaphoreSlim(0) };
        var plan = new PlanBuilder("durable").WithWorkers(2)
            .AddTask("a", "template", t => t.With(new { text = "alpha" }))
            .AddTask("b", "template", t => t.DependsOn("a").With(new { text = "{{a}} beta" }))
            .Build();
        var run = new ParallelFlowEngine().Compile(plan).Start(new RunOptions { Journal = journal, StreamEvents = true });
        var events = run.ReadEventsAsync().GetAsyncEnumerator();

        // The first write (a's end) is held. b may start meanwhile — its entry can only be written after a's — but
        // neither a nor b counts as finished, and the run cannot complete.
        await journal.Writing.WaitAsync().Within();
        var seen = new List<RunEvent>();
        while (!seen.Any(e => e.Kind == RunEventKind.TaskStarted && e.TaskId == "b"))
        {
            Assert.True(await events.MoveNextAsync().AsTask().Within());
            seen.Add(events.Current);
        }

        await Task.Delay(100);
        Assert.DoesNotContain(seen, e => e.Kind == RunEventKind.TaskFinished);
        Assert.False(run.Completion.IsCompleted);

        journal.Hold.Release(10);
        while (await events.MoveNextAsync().AsTask().Within())
        {
            seen.Add(events.Current);
        }

        var result = await run.Completion.Within();
        var finished = seen.Where(e => e.Kind == RunEventKind.TaskFinished).Select(e => e.TaskId).ToList();
        Assert.Equal(["a", "b"], finished);
        Assert.Equal("alpha beta", result["b"].Result!.Text);
        Assert.Equal(["a", "b"], journal.Entries.Where(e => e.Finished is not null).Select(e => e.TaskId));
    }

    [Fact]
    public async Task TasksFinishingDuringAWrite_ShareTheNextOne()
    {
        // 20 independent tasks on 2 workers: while the first write is held, the workers run the other 19.
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

        // Bounded by time, not by a count of short waits: on a loaded machine the thread pool may add threads slowly.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while ((Volatile.Read(ref executed) < 20 || run.GetStatus().Succeeded < 20) && waited.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(5);
        }

        Assert.Equal(20, Volatile.Read(ref executed));
        await Task.Delay(100);
        journal.Hold.Release(20);
        var result = await run.Completion.Within();

        Assert.All(result.Tasks, t => Assert.Equal(TaskRunStatus.Succeeded, t.Status));
        Assert.Equal(20, journal.Entries.Count(e => e.Finished is not null));
        Assert.True(journal.Batches.Count <= 3, $"{journal.Batches.Count} writes for 20 tasks");
        // However many the held write took (on a loaded machine the workers may finish a dozen before it starts), every
        // task that finished while it was held goes in the one write after it.
        var first = journal.Batches[0].Count(e => e.Finished is not null);
        Assert.Equal(20 - first, journal.Batches.Skip(1).FirstOrDefault()?.Count(e => e.Finished is not null) ?? 0);
    }

    [Fact]
    public async Task ABatchThatFailsToWrite_IsWrittenAgainAheadOfTheNext_AndTheRunGoesOn()
    {
        var journal = new RecordingJournal { FailFirst = 1 };
        var plan = new PlanBuilder("failing-journal").WithWorkers(1)
            .AddTask("a", "template", t => t.With(new { text = "alpha" }))
            .AddTask("b", "template", t => t.DependsOn("a").With(new { text = "{{a}} beta" }))
            .AddTask("c", "template", t => t.DependsOn("b").With(new { text = "{{b}} gamma" }))
            .Build();

        var result = await new ParallelFlowEngine().RunAsync(plan, new RunOptions { Journal = journal }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Equal("alpha beta gamma", result["c"].Result!.Text);
        // What was written holds every task once, inputs first: the failed batch was written again.
        Assert.Equal(["a", "b", "c"], journal.Entries.Where(e => e.Finished is not null).Select(e => e.TaskId));
        Assert.Equal(1, journal.Failures);
    }

    [Fact]
    public async Task AJournalThatKeepsFailing_IsGivenUp_AndTheRunGoesOn()
    {
        var journal = new RecordingJournal { FailFirst = int.MaxValue };
        var builder = new PlanBuilder("broken-journal").WithWorkers(2);
        for (var i = 0; i < 30; i++)
        {
            var dependency = i == 0 ? [] : new[] { $"t{i - 1}" };
            builder.AddTask($"t{i}", "template", t => t.DependsOn(dependency).With(new { text = "x" }));
        }

        var result = await new ParallelFlowEngine().RunAsync(builder.Build(), new RunOptions { Journal = journal }).Within();

        Assert.Equal(RunStatus.Succeeded, result.Status);
        Assert.Empty(journal.Entries);
        Assert.InRange(journal.Failures, 2, 30);
    }

    /// <summary>Keeps every entry in the order written, and can hold writes until the test lets them through.</summary>
    private sealed class RecordingJournal : IRunJournal
    {
        private int _inside;

        public ConcurrentQueue<JournalEntry> Entries { get; } = new();

        public List<IReadOnlyList<JournalEntry>> Batches { get; } = [];

        public SemaphoreSlim? Hold { get; init; }

        public SemaphoreSlim Writing { get; } = new(0);

        public int FailFirst { get; init; }

        public int Failures => Volatile.Read(ref _failures);

        private int _failures;

        public async ValueTask RecordAsync(IReadOnlyList<JournalEntry> entries, CancellationToken cancellationToken = default)
        {
            // The engine writes one batch at a time per run.
            Assert.Equal(1, Interlocked.Increment(ref _inside));
            try
            {
                Writing.Release();
                if (Hold is not null)
                {
                    await Hold.WaitAsync(cancellationToken);
                }
                if (Interlocked.Increment(ref _failures) <= FailFirst)
                {
                    throw new InvalidOperationException("the disk is full");
                }

                Interlocked.Decrement(ref _failures);

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
