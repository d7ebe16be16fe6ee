using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Workers;

namespace ParallelFlow.Engine.Tests.Support;

public static class PlanText
{
    public static PlanDefinition Json(string text) => PlanLoader.Parse(text, PlanFormat.Json, "plan.json", WorkerCatalog.CreateDefault());

    public static PlanDefinition Yaml(string text) => PlanLoader.Parse(text, PlanFormat.Yaml, "plan.yaml", WorkerCatalog.CreateDefault());

    public static IReadOnlyList<PlanError> ErrorsOf(Func<PlanDefinition> load) => Assert.Throws<PlanValidationException>(load).Errors;
}
