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

        var bound = worker.BindParameters(Json("""{ "word": "yo", "times": 3 }"""));
        Assert.NotNull(bound);
        Assert.Null(worker.BindParameters(Json("""{ "times": 2 }""")));

        // The engine hands every attempt what it bound once (With is not read again: here it is absent); a caller
        // without a compile step gets it bound on the spot. A value that is not this worker's binding is not taken.
        var fromBound = await worker.ExecuteAsync(new TaskRequest { TaskId = "t", WorkerName = "repeat", Parameters = bound }, default);
        var notOurs = await Assert.ThrowsAsync<FatalTaskException>(() => worker.ExecuteAsync(new TaskRequest { TaskId = "t", WorkerName = "repeat", Parameters = new Repeat.Parameters("yo", 3) }, default).AsTask());
        Assert.StartsWith("invalid parameters: 'word' is required", notOurs.Message);
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

public sealed class NestedParameterTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    [Fact]
    public void NestedObjectsAndLists_ReportProblemsByTheirFullPath_AndTheirOwnUnknownKeys()
    {
        var reader = new ParameterReader(Json("""
            { "criteria": [ { "name": "speed", "wieght": 2 }, 7, { "weight": -1 } ],
              "judge": { "rubric": 3 } }
            """));

        var items = reader.Children("criteria", required: true)!;
        foreach (var item in items)
        {
            _ = item.Text("name", required: true);
            _ = item.Number("weight", min: 0);
        }

        var judge = reader.Child("judge")!;
        _ = judge.Text("rubric", required: true);
        judge.Problem(null, "the judge is wrong as a whole");

        Assert.Equal(["criteria[0]", "criteria[2]"], items.Select(i => i.Path));
        Assert.Equal(
            [
                new ParameterProblem("criteria[1]", "criteria[1] must be an object"),
                new ParameterProblem("criteria[2]", "'criteria[2].name' is required"),
                new ParameterProblem("criteria[2].weight", "criteria[2].weight must be a number of at least 0; got -1"),
                new ParameterProblem("judge.rubric", "judge.rubric must be a string"),
                new ParameterProblem("judge", "the judge is wrong as a whole"),
                new ParameterProblem("criteria[0].wieght", "unknown parameter 'criteria[0].wieght'. Did you mean 'weight'?"),
            ],
            reader.Finish());
    }

    [Fact]
    public async Task ATypedScorer_ValidatesAndScoresThroughOneBind_AndUsesTheEnginesBoundValue()
    {
        var scorer = new Threshold();

        Assert.Equal([new ParameterProblem("cutoff", "cutoff must be a number from 0 to 1; got 2")], scorer.ValidateParameters(Json("""{ "cutoff": 2 }""")));
        var bound = scorer.BindParameters(Json("""{ "cutoff": 0.5 }"""));
        Assert.NotNull(bound);
        Assert.Null(scorer.BindParameters(Json("""{ "cutof": 0.5 }""")));

        var candidates = new[] { new Candidate("a", TaskResult.FromText("0.4"), TimeSpan.Zero), new Candidate("b", TaskResult.FromText("0.7"), TimeSpan.Zero) };
        // Bound by the engine: the value is used as it is; With is not read again (here it is even wrong).
        var card = await scorer.ScoreAsync(new ScoringRequest { TaskId = "t", With = Json("""{ "cutoff": "x" }"""), Parameters = bound, Candidates = candidates }, CancellationToken.None);
        Assert.Equal("b", card.Winner);
        // A value another scorer bound is not taken, even of the same type: this one binds from With (here: wrong).
        var other = new Threshold().BindParameters(Json("""{ "cutoff": 0.9 }"""));
        await Assert.ThrowsAsync<FatalTaskException>(async () => await scorer.ScoreAsync(new ScoringRequest { TaskId = "t", With = Json("""{ "cutoff": "x" }"""), Parameters = other, Candidates = candidates }, CancellationToken.None));
        // Called without the engine: bound on the spot, and refused when wrong.
        var fatal = await Assert.ThrowsAsync<FatalTaskException>(async () => await scorer.ScoreAsync(new ScoringRequest { TaskId = "t", With = Json("""{ "cutoff": "x" }"""), Candidates = candidates }, CancellationToken.None));
        Assert.Equal("invalid parameters: cutoff must be a number from 0 to 1", fatal.Message);
    }

    [Fact]
    public async Task ATypedMerger_StreamsWithTheBoundValue_AndRefusesUnknownKeys()
    {
        var merger = new Join();
        Assert.Equal("unknown parameter 'seperator'. Did you mean 'separator'?", Assert.Single(merger.ValidateParameters(Json("""{ "seperator": "," }"""))).Message);

        var sections = new[] { new SectionOutput("one", TaskResult.FromText("a")), new SectionOutput("two", TaskResult.FromText("b")) };
        var bound = merger.BindParameters(Json("""{ "separator": "+" }"""));
        var streamed = await merger.MergeStreamAsync(new MergeRequest { TaskId = "t", Parameters = bound, Sections = [] }, Stream(sections), CancellationToken.None);
        var direct = await merger.MergeAsync(new MergeRequest { TaskId = "t", With = Json("""{ "separator": "-" }"""), Sections = sections }, CancellationToken.None);

        Assert.Equal("a+b", streamed.Output.Text);
        Assert.Equal("a-b", direct.Output.Text);
    }

    private static async IAsyncEnumerable<SectionOutput> Stream(IEnumerable<SectionOutput> sections)
    {
        foreach (var section in sections)
        {
            await Task.Yield();
            yield return section;
        }
    }

    /// <summary>Picks the first candidate whose number is over the cutoff.</summary>
    private sealed class Threshold : ParallelFlowScorer<double>
    {
        protected override double Bind(ParameterReader reader) => reader.Number("cutoff", min: 0, max: 1) ?? 0.5;

        protected override ValueTask<ScoreCard> ScoreAsync(ScoringRequest request, double parameters, CancellationToken cancellationToken)
        {
            var scores = request.Candidates.ToDictionary(c => c.Name, c => new CandidateScore(double.Parse(c.Result.Text!, System.Globalization.CultureInfo.InvariantCulture), new Dictionary<string, double>()));
            return ValueTask.FromResult(new ScoreCard(scores, "over the cutoff") { Winner = scores.First(s => s.Value.Total > parameters).Key });
        }
    }

    private sealed class Join : ParallelFlowMerger<string>
    {
        protected override string Bind(ParameterReader reader) => reader.Text("separator") ?? "\n";

        protected override ValueTask<MergeResult> MergeAsync(MergeRequest request, string parameters, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new MergeResult(TaskResult.FromText(string.Join(parameters, request.Sections.Select(s => s.Result.Text))), []));
    }
}
