using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Reporting;

namespace ParallelFlow.Engine.Tests.Reporting;

public sealed class PlanRendererTests
{
    private static readonly PlanDefinition Plan = new PlanBuilder("shape")
        .AddTask("a", "simulate")
        .AddTask("b", "simulate", t => t.DependsOn("a"))
        .AddTask("c", "simulate", t => t.After("a"))
        .Build();

    [Fact]
    public void Mermaid_DrawsHardEdgesSolid_SoftEdgesDashed_AndMarksTheCriticalPath()
    {
        var text = PlanRenderer.Render(Plan, ParallelFlowEngine.Analyze(Plan), 2, "mermaid");

        Assert.StartsWith("flowchart LR", text, StringComparison.Ordinal);
        Assert.Contains("t0 --> t1", text, StringComparison.Ordinal);
        Assert.Contains("t0 -.-> t2", text, StringComparison.Ordinal);
        Assert.Contains("class t0,t1 critical", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Dot_IsAGraphvizDigraph()
    {
        var text = PlanRenderer.Render(Plan, ParallelFlowEngine.Analyze(Plan), 2, "dot");

        Assert.Contains("digraph \"shape\" {", text, StringComparison.Ordinal);
        Assert.Contains("\"a\" -> \"c\" [style=dashed];", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_ListsWavesAndTheLowerBound()
    {
        var text = PlanRenderer.Render(Plan, ParallelFlowEngine.Analyze(Plan), 2, "text");

        Assert.Contains("wave 1 (2): b, c", text, StringComparison.Ordinal);
        Assert.Contains("lower bound:   2s on 2 workers", text, StringComparison.Ordinal);
    }
}
