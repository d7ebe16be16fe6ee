using System.Globalization;

namespace ParallelFlow.Engine.Execution;

/// <summary>Makes run ids that sort by start time and stay unique across processes: <c>20261123-201501-3f9a2c</c>.</summary>
public static class RunIds
{
    /// <summary>A new run id, from the given clock's current time.</summary>
    public static string New(TimeProvider timeProvider) =>
        (timeProvider ?? throw new ArgumentNullException(nameof(timeProvider))).GetUtcNow().ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6];
}
