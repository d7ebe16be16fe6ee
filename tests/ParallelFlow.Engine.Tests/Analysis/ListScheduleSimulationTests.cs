using CsCheck;
using ParallelFlow.Engine.Analysis;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Tests.Analysis;

/// <summary>The offline list-scheduling simulation the makespan benchmarks compare runs with.</summary>
public sealed class ListScheduleSimulationTests
{
    // Three roots at once on two workers: x1, x2 (1 s each) and h (1 s), with a 9 s tail behind h.
    private static readonly PlanDefinition Lookahead = new PlanBuilder("lookahead")
        .AddTask("x1", "simulate").AddTask("x2", "simulate").AddTask("h", "simulate")
        .AddTask("tail", "simulate", t => t.DependsOn("h"))
        .Build();

    [Theory]
    [InlineData("fifo", 11)]            // x1 and x2 first; h starts at 1, the tail ends at 11
    [InlineData("priority", 11)]        // no priorities: ready order, like fifo
    [InlineData("shortest_first", 11)]  // the 1 s tasks tie; plan order puts h last
    [InlineData("critical_path", 10)]   // h first (10 s to the end); the lower bound
    public void It_takes_ready_tasks_in_the_strategys_order(string strategy, double expected)
    {
        var makespan = ListScheduleSimulation.Makespan(new PlanGraph(Lookahead.Tasks), [1, 1, 1, 9], null, workers: 2, strategy);

        Assert.Equal(expected, makespan, 9);
    }

    [Fact]
    public void Every_list_schedule_lies_between_the_lower_bound_and_Grahams_bound() =>
        Gen.Select(Gen.Int[1, 60], Gen.Int, Gen.Int[1, 8], Gen.OneOfConst([.. SchedulingStrategies.BuiltIn]))
            .Sample((count, seed, workers, strategy) =>
            {
                var random = new Random(seed);
                var tasks = Enumerable.Range(0, count).Select(i => new TaskDefinition
                {
                    Id = $"t{i}",
                    Worker = "simulate",
                    DependsOn = [.. Enumerable.Range(0, i).Where(_ => random.NextDouble() < 0.1).Select(p => $"t{p}")],
                }).ToList();
                var durations = tasks.Select(_ => Math.Round(random.NextDouble() * 10, 3)).ToArray();
                var priorities = tasks.Select(_ => random.Next(4)).ToArray();
                var graph = new PlanGraph(tasks);
                var analysis = PlanAnalyzer.Analyze(tasks, graph, durations).Analysis;
                var (path, work) = (analysis.CriticalPathSeconds, analysis.TotalWorkSeconds);

                var makespan = ListScheduleSimulation.Makespan(graph, durations, priorities, workers, strategy);
                var unlimited = ListScheduleSimulation.Makespan(graph, durations, priorities, count, strategy);

                // No schedule beats the longest path or the work spread over every worker; a list schedule never
                // leaves a worker idle while a task is ready, so it is within work / m + (1 − 1/m) · path (Graham, 1969).
                Assert.InRange(makespan, analysis.LowerBoundSeconds(workers) - 1e-9, work / workers + (1 - 1.0 / workers) * path + 1e-9);
                Assert.Equal(path, unlimited, 9);
            }, iter: 300);
}
