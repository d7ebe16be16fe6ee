using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Tests.Support;

public static class PlanText
{
    public static PlanDefinition Json(string text) => PlanLoader.Parse(text, PlanFormat.Json, "plan.json", BuiltInWorkers.CreateCatalog());

    public static PlanDefinition Yaml(string text) => PlanLoader.Parse(text, PlanFormat.Yaml, "plan.yaml", BuiltInWorkers.CreateCatalog());

    public static IReadOnlyList<PlanError> ErrorsOf(Func<PlanDefinition> load) => Assert.Throws<PlanValidationException>(load).Errors;
}
