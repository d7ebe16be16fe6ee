using System.Text.Json;
using Microsoft.Extensions.Logging;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Tests.Diagnostics;

public sealed class SecretRedactionTests
{
    [Fact]
    public async Task ASecretValue_IsMaskedInOutputsErrorsRecordsEventsAndLogs_WhateverShapeItTakes()
    {
        var variable = $"PF_TEST_SECRET_{Guid.NewGuid():N}";
        const string secret = "abc/def+ghi=jkl-0123456789";
        Environment.SetEnvironmentVariable(variable, secret);
        try
        {
            using var logs = new ListLoggerFactory();
            var catalog = BuiltInWorkers.CreateCatalog();
            catalog.AddSecretVariable(variable);
            var engine = new ParallelFlowEngine(new EngineOptions { Catalog = catalog, LoggerFactory = logs });
            var plan = new PlanBuilder("secrets")
                .AddTask("text", (request, _) =>
                {
                    request.Logger.Log(LogLevel.Information, default, $"calling with {secret}", null, static (text, _) => text);
                    request.Progress.Report($"progress {secret}");
                    return ValueTask.FromResult(TaskResult.FromText($"the key is {secret}"));
                })
                .AddTask("json", (_, _) => ValueTask.FromResult(new TaskResult
                {
                    // Escaped in the JSON text ("abc\/def\u002Bghi"), plain once read.
                    Json = JsonDocument.Parse($$"""{ "k": "{{secret.Replace("/", "\\/", StringComparison.Ordinal).Replace("+", "\\u002B", StringComparison.Ordinal)}}", "{{secret}}": [1, "x {{secret}}"] }""").RootElement,
                    Record = JsonDocument.Parse($$"""{ "kind": "vote", "why": "{{secret}}" }""").RootElement,
                }))
                .AddTask("fails", (_, _) => throw new InvalidOperationException($"401: bad key {secret}"))
                .AddTask("uses", "template", t => t.DependsOn("text").With(new { text = "got {{text}}" }))
                .Build();

            var run = engine.Compile(plan).Start(new RunOptions { StreamEvents = true });
            var events = await run.ReadEventsAsync().ToListAsync().AsTask().Within();
            var result = await run.Completion.Within();

            var everything = string.Join("\n", result.Tasks.Select(t => $"{t.Result?.Text} {t.Result?.Json?.GetRawText()} {t.Result?.Record?.GetRawText()} {t.Result?.Json?.ToString()} {t.Error}"))
                + string.Join("\n", events.Select(e => e.Message))
                + string.Join("\n", logs.Lines);
            Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
            Assert.DoesNotContain("abc\\/def", everything, StringComparison.Ordinal);
            Assert.Equal("the key is ***", result["text"].Result!.Text);
            Assert.Equal("got the key is ***", result["uses"].Result!.Text);
            Assert.Equal("***", result["json"].Result!.Json!.Value.GetProperty("k").GetString());
            Assert.Contains("bad key ***", result["fails"].Error, StringComparison.Ordinal);
            Assert.Contains(logs.Lines, l => l.Contains("calling with ***", StringComparison.Ordinal));
            Assert.Contains(events, e => e.Message == "progress ***");
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task JsonTheNodeModelCannotHold_IsStillMasked_AndTheTaskStillSucceeds()
    {
        var variable = $"PF_TEST_SECRET_{Guid.NewGuid():N}";
        const string secret = "deep-secret-value-42";
        Environment.SetEnvironmentVariable(variable, secret);
        try
        {
            var catalog = BuiltInWorkers.CreateCatalog();
            catalog.AddSecretVariable(variable);
            var deep = string.Concat(Enumerable.Repeat("[", 300)) + $"\"{secret}\"" + string.Concat(Enumerable.Repeat("]", 300));
            var plan = new PlanBuilder("awkward-json")
                .AddTask("duplicates", (_, _) => ValueTask.FromResult(new TaskResult { Json = JsonDocument.Parse($$"""{ "k": "{{secret}}", "k": "again {{secret}}" }""").RootElement }))
                .AddTask("deep", (_, _) => ValueTask.FromResult(new TaskResult { Json = JsonDocument.Parse(deep, new JsonDocumentOptions { MaxDepth = 400 }).RootElement }))
                .Build();

            var result = await new ParallelFlowEngine(new EngineOptions { Catalog = catalog }).RunAsync(plan).Within();

            Assert.All(result.Tasks, t => Assert.Equal(TaskRunStatus.Succeeded, t.Status));
            Assert.All(result.Tasks, t => Assert.DoesNotContain(secret, t.Result!.Json!.Value.GetRawText(), StringComparison.Ordinal));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task AShortValue_IsNotMasked_SoOutputsStayReadable()
    {
        var variable = $"PF_TEST_SECRET_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(variable, "1");
        try
        {
            var catalog = BuiltInWorkers.CreateCatalog();
            catalog.AddSecretVariable(variable);
            var plan = new PlanBuilder("short").AddTask("a", "template", t => t.With(new { text = "1 + 1 = 2" })).Build();

            var result = await new ParallelFlowEngine(new EngineOptions { Catalog = catalog }).RunAsync(plan).Within();

            Assert.Equal("1 + 1 = 2", result["a"].Result!.Text);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    private sealed class ListLoggerFactory : ILoggerFactory
    {
        public List<string> Lines { get; } = [];

        public ILogger CreateLogger(string categoryName) => new ListLogger(this);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class ListLogger(ListLoggerFactory provider) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (provider.Lines)
                {
                    provider.Lines.Add($"{formatter(state, exception)} {exception}");
                }
            }
        }
    }
}
