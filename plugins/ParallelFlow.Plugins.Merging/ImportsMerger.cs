using System.Text;
using System.Text.RegularExpressions;
using ParallelFlow.Sdk;

namespace ParallelFlow.Plugins.Merging;

/// <summary>
/// The <c>imports</c> merger: joins code fragments into one file, hoisting their imports to the top, once each, in
/// order: C# <c>using</c> (System first), Python <c>import</c> / <c>from … import</c> (names of one module combined),
/// TypeScript/JavaScript <c>import … from</c> (named imports of one module combined). Bodies follow in section
/// order. Two sections binding one alias to different modules is a conflict. <c>language</c>: csharp, python,
/// typescript (also javascript); detected from the fragments when absent.
/// </summary>
public sealed partial class ImportsMerger : ParallelFlowMerger<MergeSettings>
{
    private static readonly string[] Languages = ["csharp", "python", "typescript", "javascript"];

    /// <inheritdoc/>
    protected override MergeSettings Bind(ParameterReader reader) => new()
    {
        Language = reader.OneOf("language", Languages),
        Policy = MergeParameters.Policy(reader),
        Separator = reader.Text("separator"),
    };

    /// <inheritdoc/>
    protected override ValueTask<MergeResult> MergeAsync(MergeRequest request, MergeSettings parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(parameters);
        var policy = parameters.Policy;
        var texts = request.Sections.Select(s => (s.Name, Text: s.Result.ToString().ReplaceLineEndings("\n"))).ToList();
        var language = parameters.Language ?? Detect(texts.Select(t => t.Text));
        var separator = parameters.Separator ?? "\n";
        var conflicts = new List<MergeConflict>();
        var imports = language switch
        {
            "csharp" => new CSharpImports() as Imports,
            "python" => new PythonImports(),
            _ => new ScriptImports(),
        };
        var bodies = new List<string>();
        foreach (var (name, text) in texts)
        {
            var body = new List<string>();
            var inHeader = true;
            foreach (var line in text.Split('\n'))
            {
                if (inHeader && imports.TryAdd(line.Trim(), name, policy, conflicts))
                {
                    continue;
                }

                if (inHeader && line.Trim().Length == 0)
                {
                    continue;
                }

                inHeader = false;
                body.Add(line);
            }

            bodies.Add(string.Join('\n', body).TrimEnd('\n'));
        }

        MergeParameters.ThrowIfFailing(policy, conflicts);
        var output = new StringBuilder();
        foreach (var line in imports.Render())
        {
            output.Append(line).Append('\n');
        }

        if (output.Length > 0)
        {
            output.Append('\n');
        }

        output.Append(string.Join(separator, bodies.Where(b => b.Length > 0)));
        return ValueTask.FromResult(new MergeResult(TaskResult.FromText(output.ToString().TrimEnd('\n') + "\n"), conflicts));
    }

    private static string Detect(IEnumerable<string> texts)
    {
        var all = string.Join('\n', texts);
        return CSharpUsing().IsMatch(all) ? "csharp" : PythonImport().IsMatch(all) ? "python" : "typescript";
    }

    [GeneratedRegex(@"^\s*using\s+[\w.]+\s*;", RegexOptions.Multiline)]
    private static partial Regex CSharpUsing();

    [GeneratedRegex(@"^\s*(from\s+[\w.]+\s+import\s|import\s+[\w.]+\s*(as\s+\w+)?\s*$)", RegexOptions.Multiline)]
    private static partial Regex PythonImport();

    [GeneratedRegex(@"^using\s+(?:(?<static>static)\s+)?(?:(?<alias>\w+)\s*=\s*)?(?<name>[\w.<>, ]+)\s*;$")]
    private static partial Regex CSharpLine();

    [GeneratedRegex(@"^from\s+(?<module>[\w.]+)\s+import\s+\(?(?<names>[^)]*)\)?$")]
    private static partial Regex PythonFrom();

    [GeneratedRegex(@"^import\s+(?<module>[\w.]+)(?:\s+as\s+(?<alias>\w+))?$")]
    private static partial Regex PythonPlain();

    [GeneratedRegex("""^import\s+(?:(?<default>[\w$]+)\s*,?\s*)?(?:\{(?<named>[^}]*)\}|\*\s+as\s+(?<star>[\w$]+))?\s*(?:from\s+)?['"](?<module>[^'"]+)['"]\s*;?$""")]
    private static partial Regex ScriptLine();

    /// <summary>Imports collected so far, and the alias each binds.</summary>
    private abstract class Imports
    {
        private readonly Dictionary<string, (string Target, string Owner)> _aliases = new(StringComparer.Ordinal);

        public abstract bool TryAdd(string line, string section, ConflictPolicy policy, List<MergeConflict> conflicts);

        public abstract IEnumerable<string> Render();

        /// <summary>Records that <paramref name="alias"/> names <paramref name="target"/>; false when it already names something else.</summary>
        protected bool Bind(string alias, string target, string section, ConflictPolicy policy, List<MergeConflict> conflicts)
        {
            if (!_aliases.TryGetValue(alias, out var existing))
            {
                _aliases[alias] = (target, section);
                return true;
            }

            if (existing.Target == target)
            {
                return true;
            }

            var keepLast = policy == ConflictPolicy.PreferLast;
            conflicts.Add(new MergeConflict($"import {alias}", $"{existing.Owner} binds it to {existing.Target}, {section} to {target}; kept {(keepLast ? section : existing.Owner)}'s", policy is ConflictPolicy.PreferFirst or ConflictPolicy.PreferLast));
            if (keepLast)
            {
                _aliases[alias] = (target, section);
            }

            return keepLast;
        }

        protected string? Target(string alias) => _aliases.TryGetValue(alias, out var t) ? t.Target : null;
    }

    private sealed class CSharpImports : Imports
    {
        private readonly SortedSet<string> _namespaces = new(Comparer<string>.Create(Compare));
        private readonly SortedSet<string> _statics = new(StringComparer.Ordinal);
        private readonly SortedDictionary<string, string> _aliases = new(StringComparer.Ordinal);

        public override bool TryAdd(string line, string section, ConflictPolicy policy, List<MergeConflict> conflicts)
        {
            var match = CSharpLine().Match(line);
            if (!match.Success)
            {
                return false;
            }

            var name = match.Groups["name"].Value.Trim();
            if (match.Groups["alias"].Success)
            {
                var alias = match.Groups["alias"].Value;
                if (Bind(alias, name, section, policy, conflicts))
                {
                    _aliases[alias] = Target(alias)!;
                }
            }
            else if (match.Groups["static"].Success)
            {
                _statics.Add(name);
            }
            else
            {
                _namespaces.Add(name);
            }

            return true;
        }

        public override IEnumerable<string> Render() =>
            _namespaces.Select(n => $"using {n};")
                .Concat(_statics.Select(n => $"using static {n};"))
                .Concat(_aliases.Select(a => $"using {a.Key} = {a.Value};"));

        private static int Compare(string a, string b)
        {
            static bool IsSystem(string n) => n == "System" || n.StartsWith("System.", StringComparison.Ordinal);
            var system = IsSystem(b).CompareTo(IsSystem(a));
            return system != 0 ? system : string.CompareOrdinal(a, b);
        }
    }

    private sealed class PythonImports : Imports
    {
        private readonly SortedDictionary<string, string?> _plain = new(StringComparer.Ordinal);
        private readonly SortedDictionary<string, SortedSet<string>> _from = new(StringComparer.Ordinal);

        public override bool TryAdd(string line, string section, ConflictPolicy policy, List<MergeConflict> conflicts)
        {
            if (PythonFrom().Match(line) is { Success: true } from)
            {
                var module = from.Groups["module"].Value;
                var names = _from.TryGetValue(module, out var set) ? set : _from[module] = new SortedSet<string>(StringComparer.Ordinal);
                foreach (var part in from.Groups["names"].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    var pieces = part.Split(" as ", StringSplitOptions.TrimEntries);
                    var alias = pieces.Length == 2 ? pieces[1] : pieces[0];
                    if (Bind(alias, $"{module}.{pieces[0]}", section, policy, conflicts))
                    {
                        names.RemoveWhere(n => (n.Split(" as ").Last()) == alias);
                        names.Add(part);
                    }
                }

                return true;
            }

            if (PythonPlain().Match(line) is { Success: true } plain)
            {
                var module = plain.Groups["module"].Value;
                var alias = plain.Groups["alias"].Success ? plain.Groups["alias"].Value : module;
                if (Bind(alias, module, section, policy, conflicts))
                {
                    _plain[module] = plain.Groups["alias"].Success ? alias : null;
                }

                return true;
            }

            return false;
        }

        public override IEnumerable<string> Render() =>
            _plain.Select(p => p.Value is null ? $"import {p.Key}" : $"import {p.Key} as {p.Value}")
                .Concat(_from.Where(f => f.Value.Count > 0).Select(f => $"from {f.Key} import {string.Join(", ", f.Value)}"));
    }

    private sealed class ScriptImports : Imports
    {
        private readonly SortedDictionary<string, (string? Default, string? Star, SortedSet<string> Named)> _modules = new(StringComparer.Ordinal);

        public override bool TryAdd(string line, string section, ConflictPolicy policy, List<MergeConflict> conflicts)
        {
            var match = ScriptLine().Match(line);
            if (!match.Success)
            {
                return false;
            }

            var module = match.Groups["module"].Value;
            var entry = _modules.TryGetValue(module, out var e) ? e : (null, null, new SortedSet<string>(StringComparer.Ordinal));
            if (match.Groups["default"].Success && Bind(match.Groups["default"].Value, $"{module} (default)", section, policy, conflicts))
            {
                entry.Default = match.Groups["default"].Value;
            }

            if (match.Groups["star"].Success && Bind(match.Groups["star"].Value, $"{module} (*)", section, policy, conflicts))
            {
                entry.Star = match.Groups["star"].Value;
            }

            foreach (var part in match.Groups["named"].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var pieces = part.Split(" as ", StringSplitOptions.TrimEntries);
                if (Bind(pieces.Length == 2 ? pieces[1] : pieces[0], $"{module}.{pieces[0]}", section, policy, conflicts))
                {
                    entry.Named.Add(part);
                }
            }

            var bare = !match.Groups["default"].Success && !match.Groups["star"].Success && !match.Groups["named"].Success;
            if (bare || entry.Default is not null || entry.Star is not null || entry.Named.Count > 0)
            {
                _modules[module] = entry;
            }

            return true;
        }

        public override IEnumerable<string> Render()
        {
            foreach (var (module, (defaultName, star, named)) in _modules)
            {
                var parts = new List<string>();
                if (defaultName is not null)
                {
                    parts.Add(defaultName);
                }

                if (star is not null)
                {
                    parts.Add($"* as {star}");
                }

                if (named.Count > 0)
                {
                    parts.Add($"{{ {string.Join(", ", named)} }}");
                }

                yield return parts.Count == 0 ? $"import '{module}';" : $"import {string.Join(", ", parts)} from '{module}';";
            }
        }
    }
}
