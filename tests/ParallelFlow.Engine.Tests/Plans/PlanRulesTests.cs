using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests.Plans;

/// <summary>A plan is held to one set of rules however it was made: a file, the builder, a definition a host filled
/// in itself, or config.json. Each breach is the same PF error, never an exception from Polly or Dataflow.</summary>
public sealed class PlanRulesTests
{
    public static TheoryData<string, string, Func<PlanBuilder, PlanBuilder>> Breaches => new()
    {
        {
            """{ "id": "p", "tasks": [ { "id": "a", "worker": "simulate", "timeout_seconds": -1 } ] }""",
            "task 'a': timeout_seconds must be between 0.01 and 86400; got -1",
            b => b.AddTask("a", "simulate", t => t.Timeout(TimeSpan.FromSeconds(-1)))
        },
        {
            """{ "id": "p", "tasks": [ { "id": "a", "worker": "simulate", "timeout_seconds": 100000 } ] }""",
            "task 'a': timeout_seconds must be between 0.01 and 86400; got 100000",
            b => b.AddTask("a", "simulate", t => t.Timeout(TimeSpan.FromSeconds(100_000)))
        },
        {
            """{ "id": "p", "tasks": [ { "id": "a", "worker": "simulate", "retry": { "max_attempts": 1000 } } ] }""",
            "task 'a': retry.max_attempts must be between 1 and 100; got 1000",
            b => b.AddTask("a", "simulate", t => t.Retry(new RetrySettings { MaxAttempts = 1000 }))
        },
        {
            """{ "id": "p", "retry": { "backoff_multiplier": 0.5 }, "tasks": [ { "id": "a", "worker": "simulate" } ] }""",
            "retry.backoff_multiplier must be between 1 and 100; got 0.5",
            b => b.WithRetry(new RetrySettings { BackoffMultiplier = 0.5 }).AddTask("a", "simulate")
        },
        {
            """{ "id": "p", "limits": { "simulate": -2 }, "tasks": [ { "id": "a", "worker": "simulate" } ] }""",
            "limits.simulate must be at least 1; got -2",
            b => b.WithLimit("simulate", -2).AddTask("a", "simulate")
        },
        {
            """{ "id": "p", "parallelism": { "default_workers": 0 }, "tasks": [ { "id": "a", "worker": "simulate" } ] }""",
            "parallelism.default_workers must be at least 1; got 0",
            b => b.WithWorkers(0).AddTask("a", "simulate")
        },
        {
            """{ "id": "p", "tasks": [ { "id": "a", "worker": "simulate", "estimate_tokens": -3 } ] }""",
            "task 'a': estimate_tokens must be at least 0; got -3",
            b => b.AddTask("a", "simulate", t => t.EstimateTokens(-3))
        },
        {
            """{ "id": "p", "budget": { "wall_seconds": -1 }, "tasks": [ { "id": "a", "worker": "simulate" } ] }""",
            "budget.wall_seconds must be greater than 0; got -1",
            b => b.WithBudget(new BudgetSettings(null, null, WallSeconds: -1)).AddTask("a", "simulate")
        },
        {
            """{ "id": "p", "budget": { "tokens": 10, "task_cap": 2 }, "tasks": [ { "id": "a", "worker": "simulate" } ] }""",
            "budget.task_cap must be between 0 and 1; got 2",
            b => b.WithBudget(new BudgetSettings(10, null, TaskCap: 2)).AddTask("a", "simulate")
        },
    };

    [Theory]
    [MemberData(nameof(Breaches))]
    public void TheBuilder_AndAFile_GiveTheSameError(string json, string message, Func<PlanBuilder, PlanBuilder> build)
    {
        var fromFile = Assert.Single(PlanText.ErrorsOf(() => PlanText.Json(json)));
        var fromBuilder = Assert.Single(PlanText.ErrorsOf(() => build(new PlanBuilder("p")).Build()));

        Assert.Equal(message, fromFile.Message);
        Assert.Equal((PlanError.OutOfRangeCode, message), (fromBuilder.Code, fromBuilder.Message));
        Assert.Equal(fromFile.Code, fromBuilder.Code);
        // The file's error stands where the value does; the builder's has no file to point into.
        Assert.NotNull(fromFile.Position);
        Assert.Null(fromBuilder.Position);
    }

    [Fact]
    public void APlanAHostFilledInItself_IsCheckedByCompile_NotByDataflowOrPolly()
    {
        var engine = new ParallelFlowEngine();
        var plan = new PlanDefinition
        {
            Id = "hand-made",
            Limits = new Dictionary<string, int> { ["simulate"] = -2 },
            Tasks = [new TaskDefinition { Id = "a", Worker = "simulate", TimeoutSeconds = -1, Retry = new RetrySettings { MaxAttempts = 0 } }],
        };

        var errors = Assert.Throws<PlanValidationException>(() => engine.Compile(plan)).Errors;

        Assert.Equal(
            [
                "limits.simulate must be at least 1; got -2",
                "task 'a': retry.max_attempts must be between 1 and 100; got 0",
                "task 'a': timeout_seconds must be between 0.01 and 86400; got -1",
            ],
            errors.Select(e => e.Message).Order(StringComparer.Ordinal));
        Assert.All(errors, e => Assert.Equal(PlanError.OutOfRangeCode, e.Code));
    }

    [Fact]
    public void AConfigFile_IsHeldToTheSameRules_AtItsOwnPositions()
    {
        var folder = Directory.CreateTempSubdirectory("pf-rules-");
        try
        {
            var plan = Path.Combine(folder.FullName, "plan.json");
            var config = Path.Combine(folder.FullName, "config.json");
            File.WriteAllText(plan, """{ "id": "p", "tasks": [ { "id": "a", "worker": "simulate" } ] }""");
            File.WriteAllText(config, """
                {
                  "retry": { "max_attempts": 1000 },
                  "timeouts": { "default_task": 0 }
                }
                """);

            var errors = Assert.Throws<PlanValidationException>(() => PlanLoader.LoadFile(plan, BuiltInWorkers.CreateCatalog(), config)).Errors;

            Assert.Equal(
                [
                    "config.json(2,30): error PF0009: retry.max_attempts must be between 1 and 100; got 1000",
                    "config.json(3,33): error PF0009: timeouts.default_task must be between 0.01 and 86400; got 0",
                ],
                errors.Select(e => e.ToString().Replace(folder.FullName + Path.DirectorySeparatorChar, "", StringComparison.Ordinal)));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void ABoundOnTimeouts_MayBeLong_AndACostAtDecimalsEdge_IsAnErrorNotACrash()
    {
        var week = PlanText.Json("""{ "id": "p", "timeouts": { "max_task": 604800 }, "tasks": [ { "id": "a", "worker": "simulate" } ] }""");
        Assert.Equal(604800, week.Timeouts.MaxTaskSeconds);

        var error = Assert.Single(PlanText.ErrorsOf(() => PlanText.Json("""{ "id": "p", "tasks": [ { "id": "a", "worker": "simulate", "estimate_cost": 79228162514264337593543950335 } ] }""")));
        Assert.Equal(PlanError.OutOfRangeCode, error.Code);
    }

    [Fact]
    public async Task AValidBuilderPlan_AtTheEdgesOfEveryRange_BuildsAndRuns()
    {
        var plan = new PlanBuilder("ok")
            .WithLimit("simulate", 1)
            .WithRetry(new RetrySettings { MaxAttempts = 100, InitialDelaySeconds = 0 })
            .AddTask("a", "simulate", t => t.Timeout(TimeSpan.FromSeconds(86_400)).With(new { seconds = 0 }))
            .Build();

        Assert.Equal(RunStatus.Succeeded, (await new ParallelFlowEngine().RunAsync(plan).Within()).Status);
    }
}
