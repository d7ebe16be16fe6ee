using System.CommandLine;
using System.Text.Json;
using ParallelFlow.Engine.Reporting;

namespace ParallelFlow.Cli.Commands;

/// <summary>The files a run can be written to — <c>--report</c> (JSON), <c>--html</c> (one self-contained page) and
/// <c>--trace</c> (Chrome trace event format, for Perfetto) — shared by <c>run</c>, <c>resume</c> and <c>show</c>. Every
/// file is opened before anything runs, so a path that cannot be written stops the command first.</summary>
internal sealed class RunOutputs
{
    private readonly Option<string?>? _report;
    private readonly Option<string?> _html = new("--html") { Description = "Write the run as one self-contained HTML page: the graph, a Gantt chart per worker, the figures, every task's output and the decisions." };
    private readonly Option<string?> _trace = new("--trace") { Description = "Write the run's timeline in the Chrome trace event format (open it in ui.perfetto.dev or chrome://tracing)." };

    public RunOutputs(bool report)
    {
        _report = report ? new Option<string?>("--report", "-r") { Description = "Write the run's report (JSON, in the output format of parallel task executors) to this file." } : null;
    }

    public void AddTo(Command command)
    {
        if (_report is not null)
        {
            command.Options.Add(_report);
        }

        command.Options.Add(_html);
        command.Options.Add(_trace);
    }

    /// <summary>Whether any of the files was asked for.</summary>
    public bool Any(ParseResult parseResult) =>
        (_report is not null && parseResult.GetValue(_report) is not null) || parseResult.GetValue(_html) is not null || parseResult.GetValue(_trace) is not null;

    /// <summary>Opens every file asked for; on a failure, says which and why, closes what it opened and returns null.</summary>
    public Files? Open(ParseResult parseResult, CliConsole console)
    {
        var files = new Files();
        foreach (var (option, kind, label, write) in new (Option<string?>?, string, string, Action<JsonElement, Stream>)[]
        {
            (_report, "report", "report", WriteJson),
            (_html, "HTML page", "html", HtmlReport.Write),
            (_trace, "trace", "trace", ChromeTrace.Write),
        })
        {
            if (option is null || parseResult.GetValue(option) is not { } path)
            {
                continue;
            }

            var existed = File.Exists(path);
            var stream = OpenFile(path, kind, console);
            if (stream is null)
            {
                files.Dispose();
                return null;
            }

            files.Add(new OpenedFile(label, path, stream, write, Created: !existed));
        }

        return files;
    }

    private static FileStream? OpenFile(string path, string kind, CliConsole console)
    {
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            // Not truncated yet: a command that stops before it writes (a journal that cannot be opened) leaves an
            // earlier file as it was, and removes one it made (Files.Dispose).
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var reason = Directory.Exists(path) ? "it is a folder; give a file name"
                : FileAbove(path) is { } file ? $"'{file}' is a file, not a folder"
                : ex.Message.TrimEnd('.');
            console.Error.WriteLine($"{path}: error: cannot write the {kind}: {reason}; nothing was done.");
            return null;
        }
    }

    /// <summary>A file where the path needs a folder (the x of x/report.html), or null.</summary>
    private static string? FileAbove(string path)
    {
        for (var folder = Path.GetDirectoryName(Path.GetFullPath(path)); !string.IsNullOrEmpty(folder); folder = Path.GetDirectoryName(folder))
        {
            if (File.Exists(folder))
            {
                return folder;
            }
        }

        return null;
    }

    /// <summary>The report as indented JSON.</summary>
    private static void WriteJson(JsonElement report, Stream stream)
    {
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        report.WriteTo(writer);
    }

    /// <summary>A file opened for one of the outputs, with what writes it.</summary>
    internal sealed record OpenedFile(string Label, string Path, FileStream Stream, Action<JsonElement, Stream> Write, bool Created)
    {
        public bool Written { get; set; }
    }

    /// <summary>The opened files, written from a run's report.</summary>
    internal sealed class Files : IDisposable
    {
        private readonly List<OpenedFile> _files = [];

        public bool Any => _files.Count > 0;

        public void Add(OpenedFile file) => _files.Add(file);

        /// <summary>Writes each file and says where it is.</summary>
        public void Write(JsonElement report, CliConsole console, bool quiet)
        {
            foreach (var file in _files)
            {
                file.Stream.SetLength(0);
                file.Write(report, file.Stream);
                file.Stream.Flush();
                file.Written = true;
                if (!quiet)
                {
                    console.Out.WriteLine($"{file.Label}: {file.Path}");
                }
            }
        }

        public void Dispose()
        {
            foreach (var file in _files)
            {
                file.Stream.Dispose();
                if (file.Created && !file.Written)
                {
                    TryDelete(file.Path);
                }
            }

            _files.Clear();
        }

        private static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // An empty file left behind says no more than it holds.
            }
        }
    }
}
