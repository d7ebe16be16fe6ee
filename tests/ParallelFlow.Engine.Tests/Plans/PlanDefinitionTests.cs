using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Tests.Plans;

public sealed class PlanDefinitionTests
{
    [Fact]
    public void APlan_DoesNotChange_WhenTheCollectionsItWasGivenDo()
    {
        var dependsOn = new List<string> { "a" };
        var tasks = new List<TaskDefinition> { new() { Id = "a", Worker = "simulate" }, new() { Id = "b", Worker = "simulate", DependsOn = dependsOn } };
        var limits = new Dictionary<string, int> { ["simulate"] = 2 };
        var plan = new PlanDefinition { Id = "p", Tasks = tasks, Limits = limits };

        tasks.Add(new TaskDefinition { Id = "c", Worker = "simulate" });
        dependsOn.Add("c");
        limits["simulate"] = -1;

        Assert.Equal(["a", "b"], plan.Tasks.Select(t => t.Id));
        Assert.Equal(["a"], plan.Tasks[1].DependsOn);
        Assert.Equal(2, plan.Limits["simulate"]);
        Assert.IsNotType<List<TaskDefinition>>(plan.Tasks, exactMatch: false);
        Assert.IsNotType<Dictionary<string, int>>(plan.Limits, exactMatch: false);
    }
}
