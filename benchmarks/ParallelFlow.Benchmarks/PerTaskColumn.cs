using BenchmarkDotNet.Columns;

namespace ParallelFlow.Benchmarks;

/// <summary>The mean divided by the case's <c>Tasks</c> parameter: constant across sizes when the cost grows linearly.</summary>
public sealed class PerTaskColumn() : ValueColumn("per task", "Mean time over the number of tasks", UnitType.Time, (c, mean) =>
    mean is { } nanoseconds && c.Parameters["Tasks"] is int tasks && tasks > 0
        ? (nanoseconds / tasks / 1000).ToString("0.000 'µs'", System.Globalization.CultureInfo.InvariantCulture)
        : "-");
