using System.Text.Json;
using ParallelFlow.Engine.Execution;
using ParallelFlow.Engine.Plans;
using ParallelFlow.Hosting;

// A plan per request: POST /plans/{name}/runs with the plan's inputs as the JSON body.
//   dotnet run --project examples/ParallelFlow.Examples.WebService
//   curl -X POST localhost:5000/plans/release-notes/runs -H 'content-type: application/json' -d '{"version":"2.1"}'
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddParallelFlow(builder.Configuration);
builder.Services.AddProblemDetails();

var app = builder.Build();
app.MapHealthChecks("/health");
app.MapGet("/plans", (PlanRegistry plans) => plans.Names);
app.MapPost("/plans/{name}/runs", async (string name, Dictionary<string, JsonElement>? inputs, ParallelFlowRunner runner, CancellationToken cancellationToken) =>
{
    try
    {
        var result = await runner.RunAsync(name, inputs, cancellationToken);
        return Results.Ok(new
        {
            run_id = result.RunId,
            status = result.Status.ToString().ToLowerInvariant(),
            inputs = result.Inputs,
            outputs = result.Tasks.ToDictionary(t => t.TaskId, t => t.Output),
        });
    }
    catch (KeyNotFoundException ex)
    {
        return Results.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound);
    }
    catch (PlanValidationException ex)
    {
        // The errors without the server's file paths: a code, where in the plan when it is about the plan, and what.
        var errors = ex.Errors.Select(e => $"{e.Code}{(e.Position is { } p ? $" (line {p.Line}, column {p.Column})" : "")}: {e.Message}");
        return Results.Problem(string.Join("\n", errors), statusCode: StatusCodes.Status400BadRequest, title: "the inputs do not fit the plan");
    }
    catch (ParallelFlowPoolFullException ex)
    {
        return Results.Problem(ex.Message, statusCode: StatusCodes.Status429TooManyRequests);
    }
});

try
{
    app.Run();
}
catch (Exception ex) when (ex is Microsoft.Extensions.Options.OptionsValidationException || ex.Message.StartsWith("ParallelFlow cannot start", StringComparison.Ordinal))
{
    // Settings or a plan the operator can fix: the message names each one; exit code 2 as the CLI uses for bad input.
    Console.Error.WriteLine(ex.Message);
    Environment.ExitCode = 2;
}

/// <summary>The entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
