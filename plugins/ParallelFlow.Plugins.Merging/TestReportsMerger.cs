using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Merging;

/// <summary>
/// The <c>test-reports</c> merger: reads each section's test report — JUnit XML or TRX, found at <c>report</c>
/// (a path where <c>{name}</c> is the section's name), else the output itself when it is XML, else the last line of
/// the output that names an existing file — and aggregates them: totals, failures with their messages, one suite per
/// report. The result is a summary (text and JSON) and, with <c>output_file</c>, one JUnit XML file. A report that
/// cannot be read is listed for manual review, never dropped silently.
/// </summary>
public sealed class TestReportsMerger : ParallelFlowMerger<MergeSettings>
{
    private static readonly XNamespace Trx = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";

    /// <inheritdoc/>
    protected override MergeSettings Bind(ParameterReader reader) => new()
    {
        Report = reader.Text("report"),
        OutputFile = reader.Text("output_file"),
        Policy = MergeParameters.Policy(reader),
    };

    /// <inheritdoc/>
    protected override async ValueTask<MergeResult> MergeAsync(MergeRequest request, MergeSettings parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(parameters);
        var policy = parameters.Policy;
        var template = parameters.Report;
        var suites = new List<Suite>();
        var conflicts = new List<MergeConflict>();
        foreach (var section in request.Sections)
        {
            try
            {
                var xml = await ReadAsync(section, template, cancellationToken).ConfigureAwait(false);
                suites.AddRange(Parse(XDocument.Parse(xml), section.Name));
            }
            catch (Exception ex) when (ex is XmlException or IOException or InvalidDataException)
            {
                conflicts.Add(new MergeConflict(section.Name, $"its test report could not be read: {ex.Message}", false));
            }
        }

        MergeParameters.ThrowIfFailing(policy, conflicts);
        var file = parameters.OutputFile;
        if (file is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            await File.WriteAllTextAsync(file, JUnit(suites).ToString(), cancellationToken).ConfigureAwait(false);
        }

        var cases = suites.SelectMany(s => s.Cases).ToList();
        var failed = cases.Where(c => c.Outcome == Outcome.Failed).ToList();
        var summary = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"{cases.Count} tests in {suites.Count} suites: {cases.Count(c => c.Outcome == Outcome.Passed)} passed, {failed.Count} failed, {cases.Count(c => c.Outcome == Outcome.Skipped)} skipped ({suites.Sum(s => s.Seconds):0.###}s)"));
        foreach (var failure in failed)
        {
            summary.Append(CultureInfo.InvariantCulture, $"\nFAILED {failure.Suite} :: {failure.Name}: {FirstLine(failure.Message)}");
        }

        var json = JsonSerializer.SerializeToElement(new
        {
            tests = cases.Count,
            passed = cases.Count(c => c.Outcome == Outcome.Passed),
            failed = failed.Count,
            skipped = cases.Count(c => c.Outcome == Outcome.Skipped),
            time = Math.Round(suites.Sum(s => s.Seconds), 3),
            suites = suites.Select(s => new { name = s.Name, tests = s.Cases.Count, failed = s.Cases.Count(c => c.Outcome == Outcome.Failed), skipped = s.Cases.Count(c => c.Outcome == Outcome.Skipped), time = Math.Round(s.Seconds, 3) }),
            failures = failed.Select(f => new { suite = f.Suite, test = f.Name, message = f.Message }),
            junit = file,
        });
        var artifacts = file is null ? (IReadOnlyList<TaskArtifact>)[] : [new TaskArtifact(Path.GetFileName(file), file, "application/xml")];
        return new MergeResult(new TaskResult { Text = summary.ToString(), Json = json, Artifacts = artifacts }, conflicts);
    }

    private static async Task<string> ReadAsync(SectionOutput section, string? template, CancellationToken cancellationToken)
    {
        if (template is not null)
        {
            var path = template.Replace("{name}", section.Name, StringComparison.Ordinal);
            return File.Exists(path) ? await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false) : throw new IOException($"no report at {path}");
        }

        var text = section.Result.ToString().Trim();
        if (text.StartsWith('<'))
        {
            return text;
        }

        var file = text.Split('\n').Select(l => l.Trim()).LastOrDefault(File.Exists)
            ?? throw new InvalidDataException("the output is neither XML nor the path of a report");
        return await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false);
    }

    internal static IEnumerable<Suite> Parse(XDocument document, string section)
    {
        var root = document.Root ?? throw new InvalidDataException("empty document");
        if (root.Name == Trx + "TestRun")
        {
            var classes = root.Descendants(Trx + "UnitTest").ToDictionary(
                t => (string?)t.Attribute("id") ?? string.Empty,
                t => (string?)t.Element(Trx + "TestMethod")?.Attribute("className") ?? section);
            var cases = root.Descendants(Trx + "UnitTestResult").Select(r => new Case(
                section,
                (string?)r.Attribute("testName") ?? "?",
                (string?)r.Attribute("outcome") switch { "Passed" => Outcome.Passed, "NotExecuted" => Outcome.Skipped, _ => Outcome.Failed },
                TimeSpan.TryParse((string?)r.Attribute("duration"), CultureInfo.InvariantCulture, out var d) ? d.TotalSeconds : 0,
                (string?)r.Descendants(Trx + "Message").FirstOrDefault() ?? string.Empty,
                classes.GetValueOrDefault((string?)r.Attribute("testId") ?? string.Empty, section))).ToList();
            return [new Suite(section, cases)];
        }

        var suites = root.Name.LocalName == "testsuite" ? [root] : root.Descendants().Where(e => e.Name.LocalName == "testsuite").ToList();
        if (root.Name.LocalName is not ("testsuite" or "testsuites"))
        {
            throw new InvalidDataException($"<{root.Name.LocalName}> is neither JUnit (<testsuites>, <testsuite>) nor TRX (<TestRun>)");
        }

        return suites.Select(s =>
        {
            var name = (string?)s.Attribute("name") ?? section;
            return new Suite(name, s.Elements().Where(e => e.Name.LocalName == "testcase").Select(c =>
            {
                var failure = c.Elements().FirstOrDefault(e => e.Name.LocalName is "failure" or "error");
                var skipped = c.Elements().Any(e => e.Name.LocalName == "skipped");
                return new Case(
                    name,
                    (string?)c.Attribute("name") ?? "?",
                    failure is not null ? Outcome.Failed : skipped ? Outcome.Skipped : Outcome.Passed,
                    double.TryParse((string?)c.Attribute("time"), NumberStyles.Float, CultureInfo.InvariantCulture, out var t) ? t : 0,
                    failure is null ? string.Empty : ((string?)failure.Attribute("message") ?? failure.Value),
                    (string?)c.Attribute("classname") ?? name);
            }).ToList());
        }).ToList();
    }

    private static XDocument JUnit(List<Suite> suites)
    {
        var cases = suites.SelectMany(s => s.Cases).ToList();
        return new XDocument(new XElement(
            "testsuites",
            new XAttribute("tests", cases.Count),
            new XAttribute("failures", cases.Count(c => c.Outcome == Outcome.Failed)),
            new XAttribute("skipped", cases.Count(c => c.Outcome == Outcome.Skipped)),
            new XAttribute("time", Seconds(suites.Sum(s => s.Seconds))),
            suites.Select(s => new XElement(
                "testsuite",
                new XAttribute("name", s.Name),
                new XAttribute("tests", s.Cases.Count),
                new XAttribute("failures", s.Cases.Count(c => c.Outcome == Outcome.Failed)),
                new XAttribute("skipped", s.Cases.Count(c => c.Outcome == Outcome.Skipped)),
                new XAttribute("time", Seconds(s.Seconds)),
                s.Cases.Select(c => new XElement(
                    "testcase",
                    new XAttribute("classname", c.ClassName),
                    new XAttribute("name", c.Name),
                    new XAttribute("time", Seconds(c.Seconds)),
                    c.Outcome switch
                    {
                        Outcome.Failed => new XElement("failure", new XAttribute("message", FirstLine(c.Message)), c.Message),
                        Outcome.Skipped => new XElement("skipped"),
                        _ => null,
                    }))))));
    }

    private static string Seconds(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();

    internal enum Outcome
    {
        Passed,
        Failed,
        Skipped,
    }

    internal sealed record Case(string Suite, string Name, Outcome Outcome, double Seconds, string Message, string ClassName);

    internal sealed record Suite(string Name, List<Case> Cases)
    {
        public double Seconds => Cases.Sum(c => c.Seconds);
    }
}
