using System.Text.Json;

namespace ParallelFlow.Sdk.Tests;

public sealed class ParameterReaderTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    [Fact]
    public void EveryProblemIsCollected_AndAKeyNobodyReadIsUnknown_WithTheClosestKnownOne()
    {
        var reader = new ParameterReader(Json("""{ "secnds": 1, "mode": "gpu", "times": 2.5, "name": 3, "retries": -1 }"""));

        _ = reader.Number("seconds", min: 0);
        _ = reader.OneOf("mode", "sleep", "cpu");
        _ = reader.WholeNumber("times", min: 1);
        _ = reader.Text("name", required: true);
        _ = reader.WholeNumber("retries", min: 0, max: 5);
        _ = reader.Text("label", required: true);

        Assert.Equal(
            [
                new ParameterProblem("mode", "mode must be one of 'sleep', 'cpu'; got 'gpu'. Did you mean 'cpu'?"),
                new ParameterProblem("times", "times must be a whole number of at least 1"),
                new ParameterProblem("name", "name must be a string"),
                new ParameterProblem("retries", "retries must be a whole number from 0 to 5; got -1"),
                new ParameterProblem(null, "'label' is required"),
                new ParameterProblem("secnds", "unknown parameter 'secnds'. Did you mean 'seconds'?"),
            ],
            reader.Finish());
    }

    [Fact]
    public void GoodParameters_ReadAsTheirValues_WithNoProblems()
    {
        var reader = new ParameterReader(Json("""{ "seconds": 0.5, "mode": "cpu", "times": 3, "files": ["a", "b"], "one": "c", "on": true, "nested": { "x": 1 }, "raw": [1] }"""));

        Assert.Equal(0.5, reader.Number("seconds", min: 0));
        Assert.Equal("cpu", reader.OneOf("mode", "sleep", "cpu"));
        Assert.Equal(3, reader.WholeNumber("times", min: 1, max: 3));
        Assert.Equal(["a", "b"], reader.Strings("files"));
        Assert.Equal(["c"], reader.Strings("one"));
        Assert.True(reader.Boolean("on"));
        Assert.Equal(1, reader.Nested("nested")!.Value.GetProperty("x").GetInt32());
        Assert.Equal(JsonValueKind.Array, reader.Element("raw")!.Value.ValueKind);
        Assert.Null(reader.Text("absent"));
        Assert.Empty(reader.Finish());
    }

    [Fact]
    public void WithThatIsNotAnObject_IsOneProblem_AndAnAbsentOneIsEmpty()
    {
        var notAnObject = new ParameterReader(Json("[1]"));
        _ = notAnObject.Text("name", required: true);
        Assert.Equal([new ParameterProblem(null, "'with' must be an object")], notAnObject.Finish());
        Assert.Empty(new ParameterReader(default).Finish());
    }

    [Fact]
    public void ANullIsAValue_AHugeNumberIsOutOfRange_AndFinishingTwiceAddsNothing()
    {
        var reader = new ParameterReader(Json("""{ "seconds": null, "big": 1e400, "typo": 1 }"""));
        _ = reader.Number("seconds", min: 0);
        _ = reader.Number("big");

        Assert.Equal(3, reader.Finish().Count);
        Assert.Equal(
            [
                new ParameterProblem("seconds", "seconds must be a number of at least 0"),
                new ParameterProblem("big", "big must be a number"),
                new ParameterProblem("typo", "unknown parameter 'typo'. Known parameters: seconds, big"),
            ],
            reader.Finish());
    }

    [Fact]
    public async Task ATypedWorker_ValidatesAndRunsThroughOneBinding()
    {
        var worker = new Repeat();

        Assert.Equal([new ParameterProblem("times", "times must be a whole number from 1 to 3; got 9")], worker.ValidateParameters(Json("""{ "word": "hi", "times": 9 }""")));

        var bound = worker.BindParameters(Json("""{ "word": "hi", "times": 2 }"""));
        Assert.Equal(new Repeat.Parameters("hi", 2), bound);
        Assert.Null(worker.BindParameters(Json("""{ "times": 2 }""")));

        // The engine hands every attempt what it bound once; a caller without a compile step gets it bound on the spot.
        var fromBound = await worker.ExecuteAsync(new TaskRequest { TaskId = "t", WorkerName = "repeat", Parameters = new Repeat.Parameters("yo", 3) }, default);
        var fromWith = await worker.ExecuteAsync(new TaskRequest { TaskId = "t", WorkerName = "repeat", With = Json("""{ "word": "hi", "times": 2 }""") }, default);
        Assert.Equal(("yo yo yo", "hi hi"), (fromBound.Text, fromWith.Text));
        var refused = await Assert.ThrowsAsync<FatalTaskException>(() => worker.ExecuteAsync(new TaskRequest { TaskId = "t", WorkerName = "repeat", With = Json("""{ "wrd": "hi" }""") }, default).AsTask());
        Assert.Equal("invalid parameters: 'word' is required; unknown parameter 'wrd'. Did you mean 'word'?", refused.Message);
    }

    private sealed class Repeat : ParallelFlowWorker<Repeat.Parameters>
    {
        public sealed record Parameters(string Word, int Times);

        protected override Parameters Bind(ParameterReader reader) =>
            new(reader.Text("word", required: true) ?? string.Empty, reader.WholeNumber("times", min: 1, max: 3) ?? 1);

        protected override ValueTask<TaskResult> ExecuteAsync(TaskRequest request, Parameters parameters, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TaskResult.FromText(string.Join(' ', Enumerable.Repeat(parameters.Word, parameters.Times))));
    }
}
