using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ParallelFlow.Benchmarks;

/// <summary>The mean divided by the case's <c>Tasks</c> parameter: constant across sizes when the cost grows linearly.</summary>
public sealed class PerTaskColumn : IColumn
{
    public string Id => nameof(PerTaskColumn);

    public string ColumnName => "per task";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Time;

    public string Legend => "Mean time over the number of tasks";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
        var tasks = benchmarkCase.Parameters["Tasks"] is int count ? count : 0;
        return mean is { } nanoseconds && tasks > 0
            ? (nanoseconds / tasks / 1000).ToString("0.000 'µs'", System.Globalization.CultureInfo.InvariantCulture)
            : "-";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
