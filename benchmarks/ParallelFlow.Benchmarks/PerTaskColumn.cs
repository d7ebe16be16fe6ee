using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Running;

namespace ParallelFlow.Benchmarks;

/// <summary>The mean divided by the case's <c>Tasks</c> parameter, times the runs of the graph in one operation (one
/// unless <paramref name="runs"/> says): constant across sizes when the cost grows linearly.</summary>
public sealed class PerTaskColumn(Func<BenchmarkCase, int>? runs = null) : ValueColumn("per task", "Mean time over the tasks of an operation's runs", UnitType.Time, (c, mean) =>
    mean is { } nanoseconds && c.Parameters["Tasks"] is int tasks && tasks > 0
        ? (nanoseconds / ((double)tasks * (runs?.Invoke(c) ?? 1)) / 1000).ToString("0.000 'µs'", System.Globalization.CultureInfo.InvariantCulture)
        : "-");
