using System.Globalization;

namespace ParallelFlow.Engine.Execution;

/// <summary>Makes run ids that sort by start time and stay unique across processes: <c>20261123-201501-3f9a2c</c>.</summary>
internal static class RunIds
{
    public static string New(TimeProvider timeProvider) =>
        timeProvider.GetUtcNow().ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6];
}
