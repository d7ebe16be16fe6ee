namespace Alpha.Tests;

public sealed class ArithmeticTests
{
    [Fact]
    public void Adds() => Assert.Equal(4, 2 + 2);

    [Fact]
    public void Multiplies() => Assert.Equal(6, 2 * 3);
}
