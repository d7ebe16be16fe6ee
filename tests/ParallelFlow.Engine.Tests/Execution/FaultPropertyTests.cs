using System.Collections.Concurrent;
using CsCheck;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

/// <summary>
/// The fragile paths over random DAGs: a cancellation at a random point (from another thread, as Ctrl+C comes),
/// <c>fail_fast</c>, and a token budget, each on or off, with a journal or without. Whatever happens: every task ends
/// in exactly one final status, announced once; no worker limit or budget is passed; cancelled is never failed (a task
/// fails only when its worker failed it); and nothing runs once the run has completed.
/// </summary>
public sealed class FaultPropertyTests
{
    private static readonly Gen<Scenario> Scenarios =
        Gen.Select(Gen.Int[1, 40], Gen.Int, Gen.Int[1, 6], Gen.Double[0, 0.3], Gen.Int[-1, 40], Gen.Bool, Gen.Int[0, 400], Gen.Bool)
            .Select((count, seed, workers, failureRate, cancelAfter, failFast, budget, journal) =>
                new Scenario(RandomDag.Create(count, seed, workers, failureRate), cancelAfter, failFast, budget < 40 ? null : budget, journal));

    [Fact]
    public Task EveryTaskEndsOnce_WithinEveryLimitAndBudget_CancelledIsNeverFailed_AndNothingRunsAfterTheEnd() =>
        Scenarios.SampleAsync(async scenario =>
        {
            var dag = scenario.Dag;
            var worker = new RecordingWorker(scenario.CancelAfter);
            var catalog = BuiltInWorkers.CreateCatalog();
            foreach (var type in RandomDag.WorkerTypes)
            {
                catalog.AddWorker(type, worker);
            }

            var plan = scenario.ToPlan();
            var run = new ParallelFlowEngine(new EngineOptions { Catalog = catalog }).Compile(plan)
                .Start(new RunOptions { StreamEvents = true, Journal = scenario.Journal ? new MemoryJournal(scenario.Dag.Count) : null });
            worker.Run.SetResult(run);
            _ = run.Completion.ContinueWith(_ => worker.Completed = true, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            var events = await run.ReadEventsAsync().ToListAsync().AsTask().Within();
            var result = await run.Completion.Within();

            // Nothing runs once the run has completed: every worker had returned.
            Assert.Equal(0, worker.Running);
            Assert.Empty(worker.Violations);

            // Every task ends in exactly one final status, announced exactly once.
            Assert.All(result.Tasks, t => Assert.True(t.Status.IsFinal(), $"{t.TaskId} ended {t.Status}"));
            var announced = events.Where(e => e.Kind == RunEventKind.TaskFinished).GroupBy(e => e.TaskId!).ToDictionary(g => g.Key, g => g.Count());
            Assert.All(result.Tasks, t => Assert.Equal(1, announced.GetValueOrDefault(t.TaskId)));
            Assert.All(result.Tasks, t => Assert.Equal(t.Status, events.Single(e => e.Kind == RunEventKind.TaskFinished && e.TaskId == t.TaskId).Status));
            Assert.All(result.Tasks, t => Assert.True(worker.Executions.GetValueOrDefault(t.TaskId) <= 1, $"{t.TaskId} ran twice"));

            // Limits: the global count and each worker type's.
            Assert.True(worker.Peak <= dag.Workers, $"peak {worker.Peak} > {dag.Workers} workers");
            for (var type = 0; type < RandomDag.WorkerTypes.Length; type++)
            {
                var peak = worker.PeakByType.GetValueOrDefault(RandomDag.WorkerTypes[type]);
                Assert.True(peak <= dag.Limits[type], $"{RandomDag.WorkerTypes[type]} peak {peak} > {dag.Limits[type]}");
            }

            // The budget: what was spent never passes it, and a task skipped for budget says so.
            if (scenario.Budget is { } budget)
            {
                Assert.True(result.Budget!.SpentTokens <= budget, $"spent {result.Budget.SpentTokens} of {budget}");
                Assert.True(worker.Spent <= budget, $"workers spent {worker.Spent} of {budget}");
            }

            // Cancelled is not failed: a task fails only when its worker failed it, and a cancelled task was never failed.
            for (var i = 0; i < dag.Count; i++)
            {
                var task = result[RandomDag.Id(i)];
                switch (task.Status)
                {
                    case TaskRunStatus.Failed:
                        Assert.True(dag.Fails[i] && worker.Executions.ContainsKey(task.TaskId), $"{task.TaskId} failed but its worker did not fail it");
                        break;
                    case TaskRunStatus.Cancelled:
                        Assert.Equal(FailureKind.Cancelled, task.FailureKind);
                        Assert.True(worker.Cancelled || scenario.FailFast, $"{task.TaskId} cancelled with no stop");
                        break;
                    case TaskRunStatus.Succeeded:
                        Assert.False(dag.Fails[i]);
                        break;
                    case TaskRunStatus.Skipped:
                        Assert.True(task.FailureKind is FailureKind.Dependency or FailureKind.Budget, $"{task.TaskId} skipped for {task.FailureKind}");
                        break;
                }
            }

            // The run's status follows from what happened: succeeded exactly when every task did; cancelled only when
            // cancelled; without a cancellation, failed exactly when some task did not succeed.
            var allSucceeded = result.Tasks.All(t => t.Status.IsSuccess());
            Assert.Equal(allSucceeded, result.Status == RunStatus.Succeeded);
            Assert.True(result.Status != RunStatus.Cancelled || worker.Cancelled, "cancelled though nobody cancelled it");
            if (!worker.Cancelled)
            {
                Assert.Equal(allSucceeded ? RunStatus.Succeeded : RunStatus.Failed, result.Status);
            }
        }, iter: 300);

    public sealed record Scenario(RandomDag Dag, int CancelAfter, bool FailFast, int? Budget, bool Journal)
    {
        public PlanDefinition ToPlan()
        {
            var builder = new PlanBuilder("faults").WithWorkers(Dag.Workers).OnFailure(FailFast ? FailurePolicy.FailFast : FailurePolicy.Continue);
            if (Budget is { } tokens)
            {
                builder.WithBudget(new BudgetSettings(tokens, null));
            }

            for (var t = 0; t < RandomDag.WorkerTypes.Length; t++)
            {
                builder.WithLimit(RandomDag.WorkerTypes[t], Dag.Limits[t]);
            }

            for (var i = 0; i < Dag.Count; i++)
            {
                var task = i;
                builder.AddTask(RandomDag.Id(task), RandomDag.WorkerTypes[Dag.WorkerType[task]], b => b
                    .DependsOn([.. Dag.HardPredecessors[task].Select(RandomDag.Id)])
                    .After([.. Dag.SoftPredecessors[task].Select(RandomDag.Id)])
                    .Priority(Dag.Priorities[task])
                    .EstimateTokens(10 + (task % 7))
                    .With(new { fail = Dag.Fails[task], tokens = 10 + (task % 7) }));
            }

            return builder.Build();
        }

        public override string ToString() =>
            $"cancel after {CancelAfter} starts, fail_fast {FailFast}, budget {Budget?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, journal {Journal}: {Dag}";
    }

    /// <summary>Yields so tasks overlap, honours its token, spends its estimate, and cancels the run from another thread
    /// at the chosen start.</summary>
    private sealed class RecordingWorker(int cancelAfter) : ParallelFlowWorker
    {
        private readonly ConcurrentDictionary<string, int> _runningByType = new();
        private int _running;
        private int _starts;
        private int _peak;
        private long _spent;

        /// <summary>Set once the run has started; a cancellation at the first start waits for it.</summary>
        public TaskCompletionSource<FlowRun> Run { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public volatile bool Completed;

        public bool Cancelled { get; private set; }

        public ConcurrentDictionary<string, int> Executions { get; } = new();

        public ConcurrentDictionary<string, int> PeakByType { get; } = new();

        public ConcurrentQueue<string> Violations { get; } = new();

        public int Running => Volatile.Read(ref _running);

        public int Peak => Volatile.Read(ref _peak);

        public long Spent => Interlocked.Read(ref _spent);

        public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            if (Completed)
            {
                Violations.Enqueue($"{request.TaskId} started after the run completed");
            }

            Executions.AddOrUpdate(request.TaskId, 1, (_, n) => n + 1);
            var running = Interlocked.Increment(ref _running);
            Max(ref _peak, running);
            var type = request.WorkerName;
            var byType = _runningByType.AddOrUpdate(type, 1, (_, n) => n + 1);
            PeakByType.AddOrUpdate(type, byType, (_, n) => Math.Max(n, byType));
            try
            {
                if (Interlocked.Increment(ref _starts) == cancelAfter)
                {
                    Cancelled = true;
                    _ = Task.Run(async () => (await Run.Task.ConfigureAwait(false)).Cancel(), CancellationToken.None);
                }

                await Task.Yield();
                await Task.Delay(0, cancellationToken).ConfigureAwait(false);
                await Task.Yield();
                cancellationToken.ThrowIfCancellationRequested();
                if (request.With.GetProperty("fail").GetBoolean())
                {
                    throw new FatalTaskException($"{request.TaskId} fails by design");
                }

                // Spends exactly its estimate, so what the workers spent is what the budget reserved for them.
                var tokens = request.With.GetProperty("tokens").GetInt32();
                Interlocked.Add(ref _spent, tokens);
                return new TaskResult { Text = request.TaskId, Usage = new TaskUsage(tokens, 0, 0) };
            }
            finally
            {
                _runningByType.AddOrUpdate(type, 0, (_, n) => n - 1);
                Interlocked.Decrement(ref _running);
            }
        }

        private static void Max(ref int target, int value)
        {
            var current = Volatile.Read(ref target);
            while (value > current && Interlocked.CompareExchange(ref target, value, current) != current)
            {
                current = Volatile.Read(ref target);
            }
        }
    }

    /// <summary>A journal whose writes take a moment now and then, so stops and fail-fast stops land during them.</summary>
    private sealed class MemoryJournal(int seed) : IRunJournal
    {
        private readonly Random _random = new(seed);

        public ConcurrentQueue<JournalEntry> Entries { get; } = new();

        public async ValueTask RecordAsync(IReadOnlyList<JournalEntry> entries, CancellationToken cancellationToken = default)
        {
            // One write in three completes later, on another thread: stops and fail-fast stops land during it.
            if (_random.Next(3) == 0)
            {
                await Task.Yield();
            }

            foreach (var entry in entries)
            {
                Entries.Enqueue(entry);
            }
        }
    }
}
