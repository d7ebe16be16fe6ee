using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ParallelFlow.Benchmarks;

/// <summary>A column of the summary computed from each case: its parameters and its measured mean (nanoseconds, null
/// when it did not run), or anything else the summary holds of it. What every suite's own figure — per task, × a
/// bound, bytes per run — has in common.</summary>
public class ValueColumn(string name, string legend, UnitType unit, Func<Summary, BenchmarkCase, string> value) : IColumn
{
    /// <summary>A column computed from each case's parameters and measured mean.</summary>
    public ValueColumn(string name, string legend, UnitType unit, Func<BenchmarkCase, double?, string> value)
        : this(name, legend, unit, (summary, c) => value(c, summary[c]?.ResultStatistics?.Mean))
    {
    }

    public string Id => nameof(ValueColumn) + name;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => unit;

    public string Legend => legend;

    /// <summary>The mean in seconds over a reference in seconds, as "0.000"; "-" for a case that did not run.</summary>
    public static string Ratio(double? meanNanoseconds, double referenceSeconds, string format = "0.000") =>
        meanNanoseconds is { } nanoseconds ? (nanoseconds / 1e9 / referenceSeconds).ToString(format, CultureInfo.InvariantCulture) : "-";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => value(summary, benchmarkCase);

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
