using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Engine.Tests.Execution;

public sealed class RunIdTests
{
    [Fact]
    public void A_run_id_is_its_start_time_and_six_random_hex_digits()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 2, 15, 1, TimeSpan.Zero));

        var ids = Enumerable.Range(0, 1000).Select(_ => RunIds.New(clock)).ToList();

        Assert.All(ids, id => Assert.Matches(new Regex("^20261124-021501-[0-9a-f]{6}$"), id));
        // 24 random bits: among 1,000 ids of one second, a repeat is rare (expected 0.03); more than a few is a bug.
        Assert.True(ids.Distinct().Count() >= 995, $"{1000 - ids.Distinct().Count()} repeated ids");
    }
}
