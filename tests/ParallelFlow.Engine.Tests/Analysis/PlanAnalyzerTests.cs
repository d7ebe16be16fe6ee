using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Tests.Analysis;

public sealed class PlanAnalyzerTests
{
    private static PlanDefinition Diamond() => new PlanBuilder("diamond")
        .AddTask("start", "simulate", t => t.Estimate(TimeSpan.FromSeconds(1)))
        .AddTask("left", "simulate", t => t.DependsOn("start").Estimate(TimeSpan.FromSeconds(5)))
        .AddTask("right", "simulate", t => t.DependsOn("start").Estimate(TimeSpan.FromSeconds(2)))
        .AddTask("side", "simulate", t => t.Estimate(TimeSpan.FromSeconds(3)))
        .AddTask("join", "simulate", t => t.DependsOn("left", "right").After("side"))
        .Build();

    [Fact]
    public void Analyze_FindsWavesCriticalPathWidthAndSyncPoints()
    {
        var analysis = ParallelFlowEngine.Analyze(Diamond());

        Assert.Equal([["start", "side"], ["left", "right"], ["join"]], analysis.Waves);
        Assert.Equal(["start", "left", "join"], analysis.CriticalPath);
        Assert.Equal(7, analysis.CriticalPathSeconds);
        Assert.Equal(12, analysis.TotalWorkSeconds);
        Assert.Equal(2, analysis.MaxWidth);
        Assert.Equal(1, analysis.SyncPoints);
        Assert.Equal(5, analysis.EdgeCount);
    }

    [Theory]
    [InlineData(1, 12)]
    [InlineData(2, 7)]
    [InlineData(8, 7)]
    public void LowerBound_IsTheLargerOfCriticalPathAndWorkPerWorker(int workers, double expected) =>
        Assert.Equal(expected, ParallelFlowEngine.Analyze(Diamond()).LowerBoundSeconds(workers));

    [Fact]
    public void Analyze_ADeepChain_DoesNotOverflowTheStack()
    {
        var builder = new PlanBuilder("chain").AddTask("t0", "simulate");
        for (var i = 1; i < 100_000; i++)
        {
            var previous = $"t{i - 1}";
            builder.AddTask($"t{i}", "simulate", t => t.DependsOn(previous));
        }

        var analysis = ParallelFlowEngine.Analyze(builder.Build());

        Assert.Equal(100_000, analysis.Waves.Count);
        Assert.Equal(100_000, analysis.CriticalPathSeconds);
    }
}
