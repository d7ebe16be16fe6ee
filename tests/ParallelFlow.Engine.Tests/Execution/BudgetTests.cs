using CsCheck;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Execution;

public sealed class BudgetTests
{
    [Fact]
    public Task Reservations_never_let_concurrent_tasks_pass_the_limit() =>
        Gen.Select(Gen.Int[1, 30], Gen.Int[1, 6], Gen.Int[10, 300], Gen.Int[0, 2], Gen.Double[0.2, 1.0], Gen.Int)
            .SampleAsync(async (count, workers, limit, policyIndex, cap, seed) =>
            {
                var random = new Random(seed);
                var policy = (BudgetPolicy)policyIndex;
                var estimates = Enumerable.Range(0, count).Select(_ => random.Next(1, 60)).ToArray();
                var allowances = estimates.Select(e => policy switch
                {
                    BudgetPolicy.Equal => (long)Math.Floor(limit / (double)count),
                    BudgetPolicy.Proportional => (long)Math.Floor(limit * (double)e / estimates.Sum()),
                    _ => Math.Min(e, (long)Math.Floor(limit * cap)),
                }).ToArray();
                var spender = new Spender();
                var builder = new PlanBuilder("budget").WithWorkers(workers).WithBudget(new BudgetSettings(limit, null, policy, cap));
                for (var i = 0; i < count; i++)
                {
                    var spend = allowances[i] == 0 ? 0 : random.Next(0, (int)allowances[i] + 1);
                    builder.AddTask($"t{i}", "spend", t => t.With(new { spend, allowance = allowances[i] }).EstimateTokens(estimates[i]));
                }

                var engine = Engine(spender);
                var result = await engine.RunAsync(builder.Build()).Within();

                Assert.Empty(spender.Violations(limit));
                Assert.Equal(allowances, result.Budget!.Tasks.Select(t => t.AllowedTokens));
                Assert.True(result.Budget.SpentTokens <= limit);
                foreach (var task in result.Tasks.Where(t => t.Status == TaskRunStatus.Skipped))
                {
                    Assert.Equal(FailureKind.Budget, task.FailureKind);
                    Assert.True(result.Budget.SpentTokens + result.Budget.Tasks.Single(b => b.TaskId == task.TaskId).AllowedTokens > limit, $"{task.TaskId} was skipped though it fit");
                }
            }, iter: 150);

    [Fact]
    public async Task A_task_that_cannot_reserve_waits_for_budget_and_the_last_one_is_skipped()
    {
        var spender = new Spender();
        var plan = new PlanBuilder("waits").WithWorkers(3).WithBudget(new BudgetSettings(100, null, BudgetPolicy.Pool))
            .AddTask("a", "spend", t => t.With(new { spend = 30, allowance = 60 }).EstimateTokens(60).Priority(TaskPriority.Critical))
            .AddTask("b", "spend", t => t.With(new { spend = 30, allowance = 60 }).EstimateTokens(60).Priority(TaskPriority.High))
            .AddTask("c", "spend", t => t.With(new { spend = 30, allowance = 60 }).EstimateTokens(60))
            .Build();

        var result = await Engine(spender).RunAsync(plan).Within();

        // a reserves 60 of 100; b waits, then reserves once a spent 30 (30 + 60 <= 100); c never fits (60 + 60 > 100).
        Assert.Equal(["a", "b"], spender.Order);
        Assert.Equal((TaskRunStatus.Skipped, FailureKind.Budget), (result["c"].Status, result["c"].FailureKind));
        Assert.Equal("budget exhausted: the task needs 60 tokens (40 left)", result["c"].Error);
        Assert.Equal((60, 40), (result.Budget!.SpentTokens, result.Budget.RemainingTokens!.Value));
    }

    [Fact]
    public async Task Equal_and_proportional_policies_divide_the_limit()
    {
        PlanDefinition Plan(BudgetPolicy policy) => new PlanBuilder("split").WithBudget(new BudgetSettings(1000, 10m, policy))
            .AddTask("small", "spend", t => t.With(new { spend = 0, allowance = 0 }).EstimateTokens(100).EstimateCost(1m))
            .AddTask("large", "spend", t => t.With(new { spend = 0, allowance = 0 }).EstimateTokens(300).EstimateCost(3m))
            .Build();

        var equal = await Engine(new Spender()).RunAsync(Plan(BudgetPolicy.Equal)).Within();
        var proportional = await Engine(new Spender()).RunAsync(Plan(BudgetPolicy.Proportional)).Within();

        Assert.Equal([(500L, 5m), (500L, 5m)], equal.Budget!.Tasks.Select(t => (t.AllowedTokens, t.AllowedCost)));
        Assert.Equal([(250L, 2.5m), (750L, 7.5m)], proportional.Budget!.Tasks.Select(t => (t.AllowedTokens, t.AllowedCost)));
    }

    [Fact]
    public async Task A_wall_time_budget_stops_the_run_when_it_runs_out()
    {
        var clock = new ObservedClock();
        var plan = new PlanBuilder("wall").WithBudget(new BudgetSettings(null, null, WallSeconds: 15))
            .AddTask("one", "simulate", t => t.With(new { seconds = 10 }))
            .AddTask("two", "simulate", t => t.DependsOn("one").With(new { seconds = 10 }))
            .AddTask("three", "simulate", t => t.DependsOn("two").With(new { seconds = 10 }))
            .Build();
        var run = TestEngines.With(clock).Compile(plan).Start();

        // The wall-time timer and task one's sleep are armed at the start; one ends at 10 s, two starts and is stopped at 15 s.
        var armed = new[] { await clock.NextTimerAsync(), await clock.NextTimerAsync() };
        Assert.Equal([TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(15)], armed.Order());
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(10), await clock.NextTimerAsync());
        clock.Advance(TimeSpan.FromSeconds(5));

        var result = await run.Completion.Within();
        Assert.Equal(RunStatus.Cancelled, result.Status);
        Assert.Equal(TaskRunStatus.Succeeded, result["one"].Status);
        Assert.Equal("cancelled while running: the run's wall-time budget (15s) ran out", result["two"].Error);
        Assert.Equal("cancelled before it started: the run's wall-time budget (15s) ran out", result["three"].Error);
    }

    [Fact]
    public void A_budget_in_a_plan_file_is_checked_with_the_plan()
    {
        var errors = PlanText.ErrorsOf(() => PlanText.Json("""
            { "budget": { "tokns": 100, "policy": "shared", "task_cap": 1.5 },
              "tasks": [ { "id": "a", "worker": "simulate", "estimate_tokens": -1 } ] }
            """));

        Assert.Contains(errors, e => e.Message.Contains("budget: unknown key 'tokns'. Did you mean 'tokens'?"));
        Assert.Contains(errors, e => e.Message.Contains("'shared' is not one of equal, proportional, pool"));
        Assert.Contains(errors, e => e.Message.Contains("task_cap must be between 0 and 1"));
        Assert.Contains(errors, e => e.Message.Contains("estimate_tokens must be at least 0"));
    }

    private static ParallelFlowEngine Engine(Spender spender)
    {
        var catalog = BuiltInWorkers.CreateCatalog();
        catalog.AddWorker("spend", spender);
        return new ParallelFlowEngine(new EngineOptions { Catalog = catalog });
    }

    /// <summary>
    /// Uses <c>spend</c> tokens. At every start it checks what the engine may have promised: the tokens spent by
    /// finished tasks plus the allowances of every task running now.
    /// </summary>
    private sealed class Spender : ParallelFlowWorker
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<string, long> _running = [];
        private readonly List<long> _committed = [];
        private long _spent;

        public List<string> Order { get; } = [];

        public IEnumerable<long> Violations(long limit) => _committed.Where(c => c > limit);

        public override async ValueTask<TaskResult> ExecuteAsync(TaskRequest request, CancellationToken cancellationToken)
        {
            var spend = (long)request.GetDouble("spend")!.Value;
            lock (_gate)
            {
                _running[request.TaskId] = (long)request.GetDouble("allowance")!.Value;
                _committed.Add(_spent + _running.Values.Sum());
                Order.Add(request.TaskId);
            }

            await Task.Yield();
            lock (_gate)
            {
                _running.Remove(request.TaskId);
                _spent += spend;
            }

            return new TaskResult { Text = "spent", Usage = new TaskUsage(0, spend, 0) };
        }
    }
}
