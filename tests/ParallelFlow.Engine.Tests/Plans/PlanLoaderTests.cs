using ParallelFlow.Engine.Plans;
using ParallelFlow.Engine.Tests.Support;

namespace ParallelFlow.Engine.Tests.Plans;

public sealed class PlanLoaderTests
{
    private const string DesignExample = """
        {
          "id": "release-check",
          "description": "what the plan is for",
          "parallelism": { "min_workers": 2, "max_workers": 10, "default_workers": 5 },
          "limits": { "template": 2, "simulate": 4 },
          "timeouts": { "default_task": 300, "max_task": 600 },
          "retry": { "max_attempts": 3, "backoff_multiplier": 2, "initial_delay": 1 },
          "on_failure": "fail_fast",
          "tasks": [
            { "id": "research-api", "worker": "simulate", "with": { "seconds": 0.5 }, "estimate_seconds": 2 },
            { "id": "design", "worker": "template", "depends_on": ["research-api"], "after": ["lint"],
              "with": { "text": "Schema from {{research-api}}" }, "priority": "high", "timeout_seconds": 60,
              "retry": { "max_attempts": 1 } },
            { "id": "lint", "worker": "simulate", "description": "style" }
          ]
        }
        """;

    [Fact]
    public void Load_TheDesignExample_ReadsEveryKey()
    {
        var plan = PlanText.Json(DesignExample);

        Assert.Equal(("release-check", "what the plan is for"), (plan.Id, plan.Description));
        Assert.Equal(new ParallelismSettings(2, 10, 5), plan.Parallelism);
        Assert.Equal(2, plan.Limits["template"]);
        Assert.Equal(new TimeoutSettings(300, 600), plan.Timeouts);
        Assert.Equal(new RetrySettings { MaxAttempts = 3, BackoffMultiplier = 2, InitialDelaySeconds = 1 }, plan.Retry);
        Assert.Equal(FailurePolicy.FailFast, plan.OnFailure);
        var design = plan.Tasks[1];
        Assert.Equal(["research-api"], design.DependsOn);
        Assert.Equal(["lint"], design.After);
        Assert.Equal((TaskPriority.High, 60.0, 1), (design.Priority, design.TimeoutSeconds!.Value, design.Retry!.MaxAttempts));
        Assert.Equal("Schema from {{research-api}}", design.With.GetProperty("text").GetString());
        Assert.Equal(2, plan.Tasks[0].EstimateSeconds);
    }

    [Fact]
    public void Load_TheSamePlanInYaml_GivesTheSamePlan()
    {
        var yaml = PlanText.Yaml("""
            id: release-check
            parallelism: { min_workers: 2, max_workers: 10, default_workers: 5 }
            on_failure: fail_fast
            tasks:
              - id: research-api
                worker: simulate
                with: { seconds: 0.5, output: "yes" }
              - id: design
                worker: template
                depends_on: [research-api]
                priority: high
                with:
                  text: "Schema from {{research-api}}"
            """);

        Assert.Equal(new ParallelismSettings(2, 10, 5), yaml.Parallelism);
        Assert.Equal(0.5, yaml.Tasks[0].With.GetProperty("seconds").GetDouble());
        Assert.Equal("yes", yaml.Tasks[0].With.GetProperty("output").GetString());
        Assert.Equal((TaskPriority.High, "research-api"), (yaml.Tasks[1].Priority, yaml.Tasks[1].DependsOn[0]));
    }

    [Fact]
    public void Validate_ReportsEveryErrorAtOnce_WithLineColumnAndTask()
    {
        var errors = PlanText.ErrorsOf(() => PlanText.Json("""
            {
              "id": "bad",
              "paralelism": { "max_workers": 2 },
              "timeouts": { "default_task": -5 },
              "tasks": [
                { "id": "a", "worker": "simulate", "depend_on": ["b"], "with": { "secnds": 1 } },
                { "id": "b", "worker": "simulat" },
                { "id": "c", "worker": "simulate", "depends_on": ["a", "zzz"], "timeout_seconds": "ten" },
                { "id": "a", "worker": "template", "priority": "urgent", "with": { "text": "{{b}}" } }
              ]
            }
            """));

        Assert.Equal(
            [
                "plan.json(3,3): error PF0002: plan: unknown key 'paralelism'. Did you mean 'parallelism'?",
                "plan.json(4,33): error PF0009: timeouts.default_task must be between 0.01 and 86400; got -5",
                "plan.json(6,40): error PF0002: task 'a': unknown key 'depend_on'. Did you mean 'depends_on'?",
                "plan.json(6,70): error PF0011: task 'a': with: unknown parameter 'secnds'. Did you mean 'seconds'?",
                "plan.json(7,18): error PF0008: task 'b': unknown worker 'simulat'. Did you mean 'simulate'? Known workers: section, simulate, template, vote",
                "plan.json(8,60): error PF0006: task 'c': depends_on names 'zzz', which is not a task in this plan",
                "plan.json(8,87): error PF0003: task 'c': timeout_seconds must be a number; got a string",
                "plan.json(9,7): error PF0005: duplicate task id 'a' (first defined at line 6)",
                "plan.json(9,52): error PF0010: task 'a': priority: 'urgent' is not one of critical, high, normal, low",
                "plan.json(9,72): error PF0011: task 'a': the text uses {{b}}, but 'b' is not in its depends_on",
            ],
            errors.Select(e => e.ToString()));
        Assert.Equal(["a", "b", "c", "a"], errors.Where(e => e.Code is "PF0002" or "PF0008" or "PF0006" or "PF0005").Skip(1).Select(e => e.TaskId));
    }

    [Fact]
    public void Validate_ACycle_NamesEveryTaskOnTheCycle()
    {
        var errors = PlanText.ErrorsOf(() => PlanText.Json("""
            { "tasks": [
              { "id": "a", "worker": "simulate", "depends_on": ["c"] },
              { "id": "b", "worker": "simulate", "depends_on": ["a"] },
              { "id": "c", "worker": "simulate", "after": ["b"] },
              { "id": "free", "worker": "simulate" },
              { "id": "self", "worker": "simulate", "depends_on": ["self"] }
            ] }
            """));

        Assert.Equal(
            [
                "plan.json(2,3): error PF0007: dependency cycle: a → c → b → a, each waiting for the next (3 tasks on the cycle: a, c, b)",
                "plan.json(6,3): error PF0007: dependency cycle: self → self, each waiting for the next (1 task on the cycle: self)",
            ],
            errors.Select(e => e.ToString()));
    }

    [Theory]
    [InlineData("""{ "tasks": [ { "id": "a", "worker": "simulate" }, ] """, "plan.json(1,53): error PF0001: malformed JSON")]
    [InlineData("", "plan.json(1,1): error PF0001: the file is empty")]
    [InlineData("""{ "tasks": [] }""", "plan.json(1,3): error PF0004: the plan's 'tasks' list is empty")]
    [InlineData("""{ "id": "x" }""", "plan.json(1,1): error PF0004: the plan has no 'tasks' list")]
    [InlineData("""[1, 2]""", "plan.json(1,1): error PF0003: plan must be an object; got a list")]
    [InlineData("""{ "tasks": [ { "worker": "simulate" } ] }""", "plan.json(1,14): error PF0004: task tasks[0] has no 'id'")]
    [InlineData("""{ "tasks": [ { "id": "a b", "worker": "simulate" } ] }""", "plan.json(1,22): error PF0010: task id 'a b' may hold only")]
    [InlineData("""{ "tasks": [ { "id": "a", "worker": "simulate", "retry": { "max_attempts": 0 } } ] }""", "plan.json(1,76): error PF0009: task 'a': retry.max_attempts must be between 1 and 100; got 0")]
    [InlineData("""{ "parallelism": { "min_workers": 4, "max_workers": 2 }, "tasks": [ { "id": "a", "worker": "simulate" } ] }""", "plan.json(1,20): error PF0009: parallelism.min_workers (4) is greater than max_workers (2)")]
    [InlineData("""{ "limits": { "simulat": 2 }, "tasks": [ { "id": "a", "worker": "simulate" } ] }""", "plan.json(1,15): error PF0008: limits names 'simulat', which is not a worker type. Did you mean 'simulate'?")]
    [InlineData("""{ "timeouts": { "max_task": 10 }, "tasks": [ { "id": "a", "worker": "simulate", "timeout_seconds": 11 } ] }""", "plan.json(1,81): error PF0009: task 'a': timeout_seconds (11) exceeds timeouts.max_task (10)")]
    [InlineData("""{ "tasks": [ { "id": "a", "worker": "simulate", "with": { "seconds": -1 } } ] }""", "plan.json(1,59): error PF0011: task 'a': with: seconds must be a number of at least 0")]
    public void Validate_BadInput_GetsAClearPositionedError(string json, string expectedStart)
    {
        var error = Assert.Single(PlanText.ErrorsOf(() => PlanText.Json(json)));
        Assert.StartsWith(expectedStart, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_YamlErrors_PointAtTheirLine()
    {
        var errors = PlanText.ErrorsOf(() => PlanText.Yaml("""
            id: y
            tasks:
              - id: a
                worker: simulate
                priorty: high
              - id: b
                worker: simulate
                depends_on: [a, nope]
            """));

        Assert.Equal(
            [
                "plan.yaml(5,5): error PF0002: task 'a': unknown key 'priorty'. Did you mean 'priority'?",
                "plan.yaml(8,21): error PF0006: task 'b': depends_on names 'nope', which is not a task in this plan",
            ],
            errors.Select(e => e.ToString()));
    }

    [Fact]
    public void AKeyGivenTwice_IsAnError_InJsonAndYaml()
    {
        var json = Assert.Single(PlanText.ErrorsOf(() => PlanText.Json("""{ "tasks": [ { "id": "x", "worker": "simulate", "worker": "simulate" } ] }""")));
        Assert.Equal("plan.json(1,49): error PF0012: key 'worker' is given twice in one object (first at line 1, column 27); only one may stand", json.ToString());

        var yaml = Assert.Single(PlanText.ErrorsOf(() => PlanText.Yaml("id: a\ntasks:\n  - id: x\n    worker: simulate\nid: b\n")));
        Assert.Equal("plan.yaml(5,1): error PF0012: key 'id' is given twice in one object (first at line 1, column 1); only one may stand", yaml.ToString());
    }

    [Fact]
    public void Load_MalformedYaml_NamesItsPosition()
    {
        var error = Assert.Single(PlanText.ErrorsOf(() => PlanText.Yaml("tasks:\n  - id: a\n   worker: [simulate\n")));
        Assert.StartsWith("plan.yaml(", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("malformed YAML", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_WithAConfigFile_ReplacesTheSectionsItGives_AndEnforcesEveryKey()
    {
        using var directory = new TempFolder("parallelflow-config-");
        var planPath = Path.Combine(directory.Path, "plan.json");
        var configPath = Path.Combine(directory.Path, "config.json");
        File.WriteAllText(planPath, """{ "parallelism": { "default_workers": 1 }, "timeouts": { "default_task": 9 }, "tasks": [ { "id": "a", "worker": "simulate" } ] }""");
        File.WriteAllText(configPath, """
            { "parallelism": { "min_workers": 2, "max_workers": 10, "default_workers": 5 },
              "timeouts": { "default_task": 300, "max_task": 600, "worker_heartbeat": 30 },
              "retry": { "max_attempts": 3, "backoff_multiplier": 2, "initial_delay": 1 },
              "resources": { "max_memory_mb": 4096, "cpu_threshold": 0.8 } }
            """);

        var plan = PlanLoader.LoadFile(planPath, configPath: configPath);

        Assert.Equal(5, plan.Parallelism.Resolve(null));
        Assert.Equal(new TimeoutSettings(300, 600, 30), plan.Timeouts);
        Assert.Equal(3, plan.Retry.MaxAttempts);
        Assert.Equal(4096L * 1024 * 1024, plan.Resources.MaxMemoryBytes);
        Assert.Equal(0.8, plan.Resources.CpuThreshold);
        // The executors' config.json is enforced whole: the heartbeat, the memory limit, the CPU threshold.
        Assert.Empty(plan.Warnings);
        Assert.All(plan.Warnings, w => Assert.Equal(configPath, w.Source));
    }

    [Fact]
    public void Load_AMissingFile_SaysSo()
    {
        var error = Assert.Single(Assert.Throws<PlanValidationException>(() => PlanLoader.LoadFile("no/such/plan.json")).Errors);
        Assert.Equal("no/such/plan.json: error PF0001: cannot read the file: file not found", error.ToString());
    }
}
