namespace ParallelFlow.LocalModel.Tests;

/// <summary>
/// The managed forward pass against llama2.c itself: the reference numbers were read from the package's own
/// WebAssembly build of llama2.c (its <c>manual_start</c>/<c>manual_next</c> exports return the raw logits),
/// run under Node on the same model file.
/// </summary>
[Collection(Stories15MGroup.Name)]
public sealed class Llama2ModelTests(Stories15MFixture fixture)
{
    [Fact]
    public void The_header_describes_stories15M()
    {
        var model = fixture.Load();

        Assert.Equal(new Llama2Config(288, 768, 6, 6, 6, 32000, 256, SharedClassifier: true), model.Config);
    }

    [Fact]
    public void Logits_after_a_prompt_match_llama2c()
    {
        var model = fixture.Load();

        // The package's llama2.c predates the tokenizer's leading space, so its prompt "Once upon a time" is
        // BOS, "Once", " upon", " a", " time": feeding the same ids checks the forward pass alone.
        var logits = LogitsAfter(model, [1, 26222, 2501, 263, 931]);

        // Top five of llama2.c: ",", " there", " in", " a", " was".
        (int Token, float Logit)[] expected = [(29892, 17.555197f), (727, 15.131399f), (297, 11.186528f), (263, 9.690546f), (471, 7.681701f)];
        Assert.Equal(expected.Select(e => e.Token), TopTokens(logits, 5));
        foreach (var (token, logit) in expected)
        {
            Assert.Equal(logit, logits[token], 0.001f);
        }

        // As probabilities: "," takes about 91.6% of the mass.
        var p = logits.ToArray();
        Llama2Session.Softmax(p);
        Assert.Equal(0.9158, p[29892], 0.001);
    }

    [Fact]
    public void Greedy_continuations_are_those_of_llama2c()
    {
        var model = fixture.Load();

        var first = Llama2Generator.Generate(model, "Once upon a time", new GenerationOptions { MaxTokens = 39 });
        var second = Llama2Generator.Generate(model, "The little dog", new GenerationOptions { MaxTokens = 39 });

        Assert.Equal(", there was a little girl named Lily. She loved to play outside in the sunshine. One day, she saw a big, red ball in the sky. It was the sun", first.Text);
        Assert.Equal(" was very excited. He had been waiting for a long time for a long time. He was so happy that he started to jump around. He ran around the house, barking and w", second.Text);
        Assert.Equal((5, 39, "length"), (first.PromptTokens, first.CompletionTokens, first.FinishReason));
    }

    [Fact]
    public void The_tokenizer_round_trips_and_falls_back_to_bytes()
    {
        var tokenizer = fixture.Load().Tokenizer;

        var tokens = tokenizer.Encode("Once upon a time");
        Assert.Equal([1, 9038, 2501, 263, 931], tokens);
        Assert.Equal("Once upon a time", tokenizer.Decode(tokens));

        // U+1F642 is not in the vocabulary: its four UTF-8 bytes become byte tokens 3 + byte.
        var emoji = tokenizer.Encode("\U0001F642", bos: false);
        Assert.Equal([29871, 0xF0 + 3, 0x9F + 3, 0x99 + 3, 0x82 + 3], emoji);
        Assert.Equal("\U0001F642", tokenizer.Decode(emoji));
    }

    [Theory]
    [InlineData(Precision.Q8, 0.1f)]
    [InlineData(Precision.Q4, 2.0f)]
    public void Quantised_weights_stay_close_to_f32_and_take_less_memory(Precision precision, float tolerance)
    {
        var full = fixture.Load();
        var quantised = fixture.Load(precision);

        var reference = LogitsAfter(full, "Once upon a time");
        var logits = LogitsAfter(quantised, "Once upon a time");

        Assert.Equal(TopTokens(reference, 1), TopTokens(logits, 1));
        var meanError = reference.Zip(logits, (a, b) => Math.Abs(a - b)).Average();
        Assert.InRange(meanError, 0, tolerance);
        Assert.True(quantised.WeightBytes < full.WeightBytes, $"{precision}: {quantised.WeightBytes} bytes against {full.WeightBytes}");
    }

    [Theory]
    [InlineData(Precision.Q8)]
    [InlineData(Precision.Q4)]
    public void Vector_and_scalar_quantised_kernels_agree(Precision precision)
    {
        var model = fixture.Load(precision);
        var vectorised = LogitsAfter(model, "Once upon a time");
        float[] scalar;
        WeightMatrix.UseVectors = false;
        try
        {
            scalar = LogitsAfter(model, "Once upon a time");
        }
        finally
        {
            WeightMatrix.UseVectors = System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated;
        }

        Assert.InRange(vectorised.Zip(scalar, (a, b) => Math.Abs(a - b)).Max(), 0, 1e-3);
    }

    [Fact]
    public void Sampling_is_reproducible_by_seed()
    {
        var model = fixture.Load();
        GenerationOptions Options(ulong seed) => new() { MaxTokens = 24, Temperature = 0.9f, Seed = seed };

        var a = Llama2Generator.Generate(model, "Once upon a time", Options(7)).Text;
        var b = Llama2Generator.Generate(model, "Once upon a time", Options(7)).Text;
        var c = Llama2Generator.Generate(model, "Once upon a time", Options(8)).Text;

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void A_file_that_is_not_a_model_is_named_in_the_error()
    {
        var path = Path.Combine(Path.GetTempPath(), $"not-a-model-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, new byte[100]);
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => Llama2Model.Load(path, fixture.Files.TokenizerPath));
            Assert.Contains(path, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static float[] LogitsAfter(Llama2Model model, string prompt) => LogitsAfter(model, [.. model.Tokenizer.Encode(prompt)]);

    private static float[] LogitsAfter(Llama2Model model, int[] tokens)
    {
        var session = model.CreateSession();
        ReadOnlySpan<float> logits = default;
        for (var i = 0; i < tokens.Length; i++)
        {
            logits = session.Forward(tokens[i], i);
        }

        return logits.ToArray();
    }

    private static int[] TopTokens(float[] logits, int count) =>
        [.. logits.Select((value, index) => (value, index)).OrderByDescending(x => x.value).Take(count).Select(x => x.index)];
}
