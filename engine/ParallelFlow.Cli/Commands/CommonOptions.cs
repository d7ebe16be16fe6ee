using System.CommandLine;
using ParallelFlow.Engine;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Cli.Commands;

/// <summary>The arguments and options several commands share, and loading a plan with them.</summary>
internal static class CommonOptions
{
    public static Argument<string> PlanArgument() => new("plan")
    {
        Description = "The plan file (.json, .yaml or .yml).",
    };

    public static Option<string?> ConfigOption() => new("--config")
    {
        Description = "A config.json (parallelism, timeouts, retry) whose sections replace the plan's own.",
    };

    public static Option<int?> WorkersOption()
    {
        var option = new Option<int?>("--workers", "-w")
        {
            Description = "How many tasks may run at once (default: the plan's parallelism, else the processor count).",
        };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1)
            {
                result.AddError("--workers must be at least 1.");
            }
        });
        return option;
    }

    /// <summary>Loads and validates the plan, printing every error to stderr. Returns null when it is invalid.</summary>
    public static PlanDefinition? LoadPlan(ParallelFlowEngine engine, string path, string? configPath, int? workers, CliConsole console)
    {
        try
        {
            var plan = engine.LoadPlan(path, configPath);
            foreach (var warning in plan.Warnings)
            {
                console.Error.WriteLine(warning);
            }

            if (workers is { } requested && !WithinParallelism(plan.Parallelism, requested, out var message))
            {
                console.Error.WriteLine($"{path}: error PF0009: {message}");
                return null;
            }

            return plan;
        }
        catch (PlanValidationException ex)
        {
            var errors = ex.Errors.Where(e => !e.IsWarning).ToList();
            foreach (var error in ex.Errors)
            {
                console.Error.WriteLine(error);
            }

            console.Error.WriteLine($"{path}: {errors.Count} error{(errors.Count == 1 ? "" : "s")}; nothing was run.");
            return null;
        }
    }

    private static bool WithinParallelism(ParallelismSettings parallelism, int workers, out string message)
    {
        if (parallelism.MinWorkers is { } min && workers < min)
        {
            message = $"--workers {workers} is below the plan's parallelism.min_workers ({min})";
            return false;
        }

        if (parallelism.MaxWorkers is { } max && workers > max)
        {
            message = $"--workers {workers} is above the plan's parallelism.max_workers ({max})";
            return false;
        }

        message = string.Empty;
        return true;
    }
}
