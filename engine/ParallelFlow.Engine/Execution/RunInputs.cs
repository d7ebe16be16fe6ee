using System.Text.Json;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Execution;

/// <summary>
/// One run's inputs: their values (supplied, else defaults), and the parameters of every task that uses them with the
/// values put in, checked by the task's worker and bound once for the run. Tasks that use no input keep what the
/// compiled plan holds.
/// </summary>
internal sealed class RunInputs
{
    private RunInputs(IReadOnlyDictionary<string, JsonElement> values, JsonElement[] with, Sdk.TaskRequestSpec[] specs)
    {
        Values = values;
        With = with;
        Specs = specs;
    }

    /// <summary>What each task's requests share in this run (see <see cref="CompiledPlan.RequestSpecs"/>), its bound
    /// parameters among them: the plan's own where the task uses no input.</summary>
    public Sdk.TaskRequestSpec[] Specs { get; }

    /// <summary>Every input's value for this run, by name.</summary>
    public IReadOnlyDictionary<string, JsonElement> Values { get; }

    /// <summary>Each task's parameters for this run (the plan's own where it uses no input).</summary>
    public JsonElement[] With { get; }

    /// <summary>The run's inputs, or null when the plan takes none and none were supplied.</summary>
    /// <exception cref="PlanValidationException">The supplied inputs do not fit the plan, or a task's worker refuses
    /// its parameters with them put in.</exception>
    public static RunInputs? Prepare(CompiledPlan plan, IReadOnlyDictionary<string, JsonElement>? supplied)
    {
        var definition = plan.Definition;
        if (definition.Inputs.Count == 0 && (supplied is null || supplied.Count == 0))
        {
            return null;
        }

        var values = PlanInputs.Resolve(definition, supplied, plan.Catalog.Secrets);
        var with = new JsonElement[plan.Tasks.Count];
        var specs = new Sdk.TaskRequestSpec[plan.Tasks.Count];
        var errors = new List<PlanError>();
        for (var i = 0; i < with.Length; i++)
        {
            var task = plan.Tasks[i];
            if (!plan.UsesInputs[i])
            {
                with[i] = task.With;
                specs[i] = plan.RequestSpecs[i];
                continue;
            }

            with[i] = PlanInputs.Substitute(task.With, values);
            var worker = plan.Workers[i];
            var bound = Workers.PlanWorkerCheck.CheckParameters(worker, with[i], task, i, definition.SourceMap, "with (inputs put in)", errors)
                ? worker.BindParameters(with[i])
                : null;
            specs[i] = new Sdk.TaskRequestSpec(task.Id, task.Worker, task.Description, with[i], bound);
        }

        return errors.Count > 0 ? throw new PlanValidationException(errors) : new RunInputs(values, with, specs);
    }
}
