using System.Text;
using System.Text.Json;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Engine.Reporting;

/// <summary>
/// Writes a run as one self-contained HTML page (no network at view time): the plan as a graph coloured by status with
/// the observed critical path drawn, a Gantt chart per worker slot with zoom, the summary figures, a sortable task
/// table with full outputs and errors, vote decisions and section summaries.
/// </summary>
/// <remarks>The page carries the run's report (<see cref="RunReport"/>) as JSON and draws it in the browser; the
/// report's strings are escaped for a script element, and the page never puts them into markup.</remarks>
public static class HtmlReport
{
    private const string Placeholder = "/*PARALLELFLOW_REPORT*/";

    private static readonly Lazy<(byte[] Head, byte[] Tail)> Template = new(Load);

    /// <summary>Writes the page of a run.</summary>
    /// <param name="result">The run.</param>
    /// <param name="stream">Where to write; left open.</param>
    public static void Write(RunResult result, Stream stream)
    {
        using var report = RunReport.ToDocument(result);
        Write(report.RootElement, stream);
    }

    /// <summary>Writes the page of a run from its report.</summary>
    /// <param name="report">The run's report, as <see cref="RunReport"/> writes it.</param>
    /// <param name="stream">Where to write; left open.</param>
    public static void Write(JsonElement report, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var (head, tail) = Template.Value;
        stream.Write(head);
        // The default encoder escapes <, > and &, so no string of the report can close the script element.
        using (var writer = new Utf8JsonWriter(stream))
        {
            report.WriteTo(writer);
        }

        stream.Write(tail);
        stream.Flush();
    }

    private static (byte[] Head, byte[] Tail) Load()
    {
        using var resource = typeof(HtmlReport).Assembly.GetManifestResourceStream("ParallelFlow.Engine.Reporting.report.html")
            ?? throw new InvalidOperationException("the HTML report's template is missing from the engine assembly");
        using var reader = new StreamReader(resource, Encoding.UTF8);
        var text = reader.ReadToEnd();
        var at = text.IndexOf(Placeholder, StringComparison.Ordinal);
        if (at < 0)
        {
            throw new InvalidOperationException("the HTML report's template has no place for the report");
        }

        return (Encoding.UTF8.GetBytes(text[..at]), Encoding.UTF8.GetBytes(text[(at + Placeholder.Length)..]));
    }
}
