using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using ParallelFlow.Engine.Workers;
using ParallelFlow.Sdk;

namespace ParallelFlow.Engine.Sectioning;

/// <summary>One section: its position, a name for the report and the value handed to the section's worker.</summary>
internal readonly record struct Section(int Index, string Name, string Value);

/// <summary>
/// Produces a section task's sections, lazily where the source allows (globs, lines, counts), so 100,000 sections
/// never sit in memory at once: a static list, files matching a glob, lines of a file, items of a JSON array, the
/// test projects of a solution, a dependency's output, or the output of a worker.
/// </summary>
internal abstract partial record Decomposer
{
    public static readonly string[] Kinds = ["glob", "lines", "json", "solution", "from", "worker", "count"];

    public abstract IAsyncEnumerable<Section> ProduceAsync(TaskRequest request, WorkerCatalog catalog, CancellationToken cancellationToken);

    /// <summary>Reads <c>decompose</c>; null, with problems added, when it cannot be used.</summary>
    public static Decomposer? Parse(JsonElement value, List<ParameterProblem> problems)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            problems.Add(new ParameterProblem("decompose", $"'decompose' must be an object with one of {string.Join(", ", Kinds)}"));
            return null;
        }

        var kinds = value.EnumerateObject().Select(p => p.Name).Where(n => Array.IndexOf(Kinds, n) >= 0).ToList();
        if (kinds.Count != 1)
        {
            problems.Add(new ParameterProblem("decompose", $"'decompose' needs exactly one of {string.Join(", ", Kinds)}"));
            return null;
        }

        string? Text(string key) => value.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var kind = kinds[0];
        var allowed = kind switch
        {
            "glob" => new[] { "glob", "root" },
            "json" => ["json", "path"],
            "solution" => ["solution", "tests_only"],
            "worker" => ["worker", "with"],
            _ => [kind],
        };
        foreach (var property in value.EnumerateObject().Where(p => Array.IndexOf(allowed, p.Name) < 0))
        {
            problems.Add(new ParameterProblem($"decompose.{property.Name}", ParameterMessages.Unknown(property.Name, allowed)));
        }

        if (kind == "count")
        {
            if (!value.GetProperty("count").TryGetInt32(out var count) || count < 0)
            {
                problems.Add(new ParameterProblem("decompose.count", "'count' must be a whole number of at least 0"));
                return null;
            }

            return new CountDecomposer(count);
        }

        if (kind == "worker")
        {
            return Text("worker") is { } worker
                ? new WorkerDecomposer(worker, value.TryGetProperty("with", out var with) ? with.Clone() : Plans.TaskDefinition.EmptyParameters)
                : Missing(kind);
        }

        var text = Text(kind);
        if (text is null)
        {
            return Missing(kind);
        }

        return kind switch
        {
            "glob" => new GlobDecomposer(text, Text("root") ?? "."),
            "lines" => new LinesDecomposer(text),
            "json" => new JsonDecomposer(text, Text("path")),
            "solution" => new SolutionDecomposer(text, !(value.TryGetProperty("tests_only", out var t) && t.ValueKind == JsonValueKind.False)),
            _ => new FromDecomposer(text),
        };

        Decomposer? Missing(string key)
        {
            problems.Add(new ParameterProblem($"decompose.{key}", $"'{key}' must be a non-empty string"));
            return null;
        }
    }

    /// <summary>Sections from a list: each item a string, or <c>{ "name", "value" }</c>, or any JSON value.</summary>
    public static IEnumerable<Section> FromList(JsonElement list)
    {
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            yield return FromJson(index++, item);
        }
    }

    internal static Section FromJson(int index, JsonElement item) => item.ValueKind switch
    {
        JsonValueKind.String => new Section(index, item.GetString()!, item.GetString()!),
        JsonValueKind.Object when item.TryGetProperty("value", out var v) => new Section(
            index,
            item.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : $"section-{index + 1}",
            v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()),
        JsonValueKind.Object when item.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String => new Section(index, n.GetString()!, item.GetRawText()),
        _ => new Section(index, $"section-{index + 1}", item.GetRawText()),
    };

    private static async IAsyncEnumerable<Section> FromText(string text)
    {
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('['))
        {
            JsonDocument? document = null;
            try
            {
                document = JsonDocument.Parse(text);
            }
            catch (JsonException)
            {
                // Not JSON after all: one section per line.
            }

            if (document is not null)
            {
                using (document)
                {
                    foreach (var section in FromList(document.RootElement))
                    {
                        yield return section;
                    }
                }

                yield break;
            }
        }

        var index = 0;
        foreach (var line in text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0))
        {
            yield return new Section(index++, line, line);
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private sealed record CountDecomposer(int Count) : Decomposer
    {
        public override async IAsyncEnumerable<Section> ProduceAsync(TaskRequest request, WorkerCatalog catalog, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            for (var i = 0; i < Count; i++)
            {
                var text = (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                yield return new Section(i, text, text);
            }

            await Task.CompletedTask.ConfigureAwait(false);
        }
    }

    private sealed record LinesDecomposer(string File) : Decomposer
    {
        public override async IAsyncEnumerable<Section> ProduceAsync(TaskRequest request, WorkerCatalog catalog, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var index = 0;
            await foreach (var line in System.IO.File.ReadLinesAsync(Existing(File), cancellationToken).ConfigureAwait(false))
            {
                if (line.Trim().Length > 0)
                {
                    yield return new Section(index++, line, line);
                }
            }
        }
    }

    private sealed record JsonDecomposer(string File, string? Path) : Decomposer
    {
        public override async IAsyncEnumerable<Section> ProduceAsync(TaskRequest request, WorkerCatalog catalog, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var stream = System.IO.File.OpenRead(Existing(File));
            await using (stream.ConfigureAwait(false))
            {
                using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
                var node = document.RootElement;
                foreach (var part in (Path ?? string.Empty).Split('.', StringSplitOptions.RemoveEmptyEntries))
                {
                    node = node.ValueKind == JsonValueKind.Object && node.TryGetProperty(part, out var next)
                        ? next
                        : throw new FatalTaskException($"{File}: there is no '{Path}'");
                }

                if (node.ValueKind != JsonValueKind.Array)
                {
                    throw new FatalTaskException($"{File}: '{Path ?? "the document"}' is {node.ValueKind.ToString().ToLowerInvariant()}, not an array");
                }

                foreach (var section in FromList(node))
                {
                    yield return section;
                }
            }
        }
    }

    private sealed partial record GlobDecomposer(string Pattern, string Root) : Decomposer
    {
        public override async IAsyncEnumerable<Section> ProduceAsync(TaskRequest request, WorkerCatalog catalog, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            if (!Directory.Exists(Root))
            {
                throw new FatalTaskException($"the glob's root folder '{Root}' does not exist");
            }

            var regex = new Regex(ToRegex(Pattern), RegexOptions.CultureInvariant);
            var index = 0;
            var files = Directory.EnumerateFiles(Root, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
                .Select(f => System.IO.Path.GetRelativePath(Root, f).Replace('\\', '/'))
                .Where(f => regex.IsMatch(f))
                .Order(StringComparer.Ordinal);
            foreach (var file in files)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var path = Root == "." ? file : System.IO.Path.Combine(Root, file);
                yield return new Section(index++, file, path);
            }

            await Task.CompletedTask.ConfigureAwait(false);
        }

        /// <summary><c>**</c> any folders, <c>*</c> any name part, <c>?</c> one character.</summary>
        internal static string ToRegex(string glob)
        {
            var pattern = new System.Text.StringBuilder("^");
            for (var i = 0; i < glob.Length; i++)
            {
                var c = glob[i];
                if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
                {
                    var slash = i + 2 < glob.Length && glob[i + 2] == '/';
                    pattern.Append(slash ? "(?:.*/)?" : ".*");
                    i += slash ? 2 : 1;
                }
                else
                {
                    pattern.Append(c switch
                    {
                        '*' => "[^/]*",
                        '?' => "[^/]",
                        _ => Regex.Escape(c.ToString()),
                    });
                }
            }

            return pattern.Append('$').ToString();
        }
    }

    private sealed partial record SolutionDecomposer(string Solution, bool TestsOnly) : Decomposer
    {
        public override async IAsyncEnumerable<Section> ProduceAsync(TaskRequest request, WorkerCatalog catalog, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var text = await File.ReadAllTextAsync(Existing(Solution), cancellationToken).ConfigureAwait(false);
            var folder = System.IO.Path.GetDirectoryName(Solution) ?? ".";
            var index = 0;
            foreach (Match match in ProjectLine().Matches(text))
            {
                var relative = match.Groups["path"].Value.Replace('\\', '/');
                var path = System.IO.Path.Combine(folder, relative);
                if (TestsOnly && !(File.Exists(path) && IsTestProject(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false))))
                {
                    continue;
                }

                yield return new Section(index++, match.Groups["name"].Value, path);
            }
        }

        private static bool IsTestProject(string project) =>
            project.Contains("<IsTestProject>true</IsTestProject>", StringComparison.OrdinalIgnoreCase)
            || project.Contains("Microsoft.NET.Test.Sdk", StringComparison.Ordinal);

        [GeneratedRegex("""Project\("\{[^}]+\}"\)\s*=\s*"(?<name>[^"]+)",\s*"(?<path>[^"]+\.csproj)""")]
        private static partial Regex ProjectLine();
    }

    private sealed record FromDecomposer(string Task) : Decomposer
    {
        public override IAsyncEnumerable<Section> ProduceAsync(TaskRequest request, WorkerCatalog catalog, CancellationToken cancellationToken) =>
            request.DependencyOutputs.TryGetValue(Task, out var output)
                ? output.Json is { ValueKind: JsonValueKind.Array } json ? FromList(json).ToAsyncEnumerable() : FromText(output.ToString())
                : throw new FatalTaskException($"decompose.from names '{Task}', which is not one of the task's dependencies");
    }

    private sealed record WorkerDecomposer(string Worker, JsonElement With) : Decomposer
    {
        public override async IAsyncEnumerable<Section> ProduceAsync(TaskRequest request, WorkerCatalog catalog, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            if (!catalog.TryGetWorker(Worker, out var worker))
            {
                throw new FatalTaskException($"the decomposer's worker '{Worker}' is not registered");
            }

            var output = await worker.ExecuteAsync(
                new TaskRequest
                {
                    TaskId = $"{request.TaskId}/decompose",
                    WorkerName = Worker,
                    Description = request.Description,
                    With = With,
                    DependencyOutputs = request.DependencyOutputs,
                    Logger = request.Logger,
                    Progress = request.Progress,
                    CancellationToken = cancellationToken,
                },
                cancellationToken).ConfigureAwait(false);
            var sections = output.Json is { ValueKind: JsonValueKind.Array } json ? FromList(json).ToAsyncEnumerable() : FromText(output.ToString());
            await foreach (var section in sections.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                yield return section;
            }
        }
    }

    private static string Existing(string file) =>
        File.Exists(file) ? file : throw new FatalTaskException($"the decomposer's file '{file}' does not exist");
}
