namespace Beta.Tests;

public sealed class TextTests
{
    [Fact]
    public void Upper_cases() => Assert.Equal("ABC", "abc".ToUpperInvariant());

    // Fails on purpose: the aggregated report must carry a failure and its message.
    [Fact]
    public void Reverses() => Assert.Equal("cba", new string("abc".ToArray()));

    [Fact(Skip = "shows a skipped test in the aggregated report")]
    public void Pads() => Assert.Equal("  a", "a".PadLeft(3));
}
