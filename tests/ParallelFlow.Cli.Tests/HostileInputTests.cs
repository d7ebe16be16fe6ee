using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace ParallelFlow.Cli.Tests;

/// <summary>
/// Over a thousand malformed and hostile plan files, made by a seeded generator, through <c>parallelflow validate</c>
/// in this process: byte flips, truncation, wrong types, huge, negative and non-finite numbers, deep nesting, long
/// strings, unicode and lone surrogates, duplicate keys, cycles, self-dependencies, 50k-task plans, YAML anchors and
/// bombs, byte order marks, empty files and random bytes. Each must end in exit code 0 or 2, with no crash, no stack
/// trace, no "ParallelFlow bug", and every error naming the file, line and column.
/// </summary>
public sealed partial class HostileInputTests : IDisposable
{
    /// <summary>Fixed, so CI is repeatable; set PARALLELFLOW_HOSTILE_SEED to explore other files locally.</summary>
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("PARALLELFLOW_HOSTILE_SEED"), out var seed) ? seed : 20261201;
    private readonly string _folder = Directory.CreateTempSubdirectory("parallelflow-hostile-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_thousand_hostile_plans_never_crash_validate_and_every_error_has_a_position()
    {
        var watch = Stopwatch.StartNew();
        var files = new HostilePlans(new Random(Seed)).Generate().ToList();
        Assert.True(files.Count >= 1000, $"only {files.Count} files generated");

        var failures = new List<string>();
        var outcomes = new Dictionary<int, int>();
        for (var i = 0; i < files.Count; i++)
        {
            var (kind, extension, bytes) = files[i];
            var path = Path.Combine(_folder, $"{i:0000}-{kind}{extension}");
            await File.WriteAllBytesAsync(path, bytes);
            var (exitCode, output, error) = await InProcessCli.RunAsync("validate", path);
            outcomes[exitCode] = outcomes.GetValueOrDefault(exitCode) + 1;
            var problem = Check(path, exitCode, output, error);
            if (problem is not null)
            {
                // Kept where a developer can run it again.
                var kept = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "parallelflow-hostile-failures")).FullName;
                File.Copy(path, Path.Combine(kept, Path.GetFileName(path)), overwrite: true);
                failures.Add($"{Path.GetFileName(path)} (kept in {kept}): {problem}");
            }

            File.Delete(path);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {files.Count} files went wrong:\n{string.Join("\n", failures.Take(20))}");
        Assert.True(outcomes.GetValueOrDefault(2) > files.Count / 2, $"most files must be refused: {string.Join(", ", outcomes)}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(90), $"took {watch.Elapsed}");
    }

    private static string? Check(string path, int exitCode, string output, string error)
    {
        var all = output + error;
        if (exitCode is not (0 or 2))
        {
            return $"exit code {exitCode}: {Cut(all)}";
        }

        if (all.Contains("ParallelFlow bug", StringComparison.Ordinal) || all.Contains("   at ", StringComparison.Ordinal) || all.Contains("Exception", StringComparison.Ordinal))
        {
            return $"crash text: {Cut(all)}";
        }

        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (exitCode == 2 && !lines.Any(l => l.Contains(" error PF", StringComparison.Ordinal)))
        {
            return $"refused without a PF error: {Cut(error)}";
        }

        foreach (var line in lines.Where(l => l.Contains(": error", StringComparison.Ordinal) || l.Contains(": warning", StringComparison.Ordinal)))
        {
            if (!line.StartsWith(path, StringComparison.Ordinal) || !PositionedError().IsMatch(line[path.Length..]))
            {
                return $"an error without file and position: {Cut(line)}";
            }

            if (line.Length > 2000)
            {
                return $"an error line of {line.Length} characters";
            }
        }

        return null;
    }

    private static string Cut(string text) => text.Length <= 400 ? text : text[..400] + "…";

    [GeneratedRegex(@"^\(\d+,\d+\): (error|warning) P[FW]\d{4}: ")]
    private static partial Regex PositionedError();

    /// <summary>The generator: seeded, so a failure names a file that can be made again.</summary>
    private sealed class HostilePlans(Random random)
    {
        private const string Structural = "{}[]\",:\\ \n-#&*!|>'";

        private static readonly string[] OddValues =
        [
            "1e999", "-1e999", "1e-999", "-0", "99999999999999999999999999", "-5", "0", "NaN", "Infinity", "true", "null",
            "\"\"", "[]", "{}", "\"\\ud800\"", "\"\\udc00x\"", "\"\\u0000\"", "\"\\u202e\u202edlrow\"", "\"😀😀\"", "\"\\n\\t\"",
            "[[[[[[]]]]]]", "{\"a\":{\"b\":{\"c\":{}}}}", "1.5", "\"1\"", "\"critical\"", "\"fail_fast\"",
        ];

        public IEnumerable<(string Kind, string Extension, byte[] Bytes)> Generate()
        {
            var bases = new List<(string Extension, string Text)>();
            for (var i = 0; i < 12; i++)
            {
                bases.Add((".json", ValidJson(random.Next(1, 12))));
                bases.Add((".yaml", ValidYaml(random.Next(1, 12))));
            }

            // Mutations of valid plans.
            for (var i = 0; i < 260; i++)
            {
                var (extension, text) = bases[random.Next(bases.Count)];
                yield return ("flip", extension, FlipBytes(Encoding.UTF8.GetBytes(text), random.Next(1, 8)));
            }

            for (var i = 0; i < 160; i++)
            {
                var (extension, text) = bases[random.Next(bases.Count)];
                var bytes = Encoding.UTF8.GetBytes(text);
                yield return ("truncated", extension, bytes[..random.Next(0, bytes.Length)]);
            }

            for (var i = 0; i < 260; i++)
            {
                yield return ("odd-value", ".json", Encoding.UTF8.GetBytes(OddValueJson()));
            }

            for (var i = 0; i < 60; i++)
            {
                yield return ("odd-value", ".yaml", Encoding.UTF8.GetBytes(OddValueYaml()));
            }

            // Structure: cycles, self-dependencies, duplicates.
            for (var i = 0; i < 80; i++)
            {
                yield return ("graph", ".json", Encoding.UTF8.GetBytes(GraphJson(random.Next(1, 30))));
            }

            // Depth, in both formats and at the limit's edges.
            foreach (var depth in new[] { 100, 127, 128, 129, 200, 1_000, 20_000, 200_000 })
            {
                yield return ("deep-array", ".json", Encoding.UTF8.GetBytes($"{{\"tasks\":{new string('[', depth)}{new string(']', depth)}}}"));
                yield return ("deep-object", ".json", Encoding.UTF8.GetBytes($"{{\"tasks\":[{{\"id\":\"a\",\"worker\":\"simulate\",\"with\":{string.Concat(Enumerable.Repeat("{\"a\":", depth))}1{new string('}', depth)}}}]}}"));
                yield return ("deep-block", ".yaml", Encoding.UTF8.GetBytes("tasks:\n" + string.Concat(Enumerable.Repeat("- ", depth)) + "x\n"));
                yield return ("deep-flow", ".yaml", Encoding.UTF8.GetBytes($"tasks: {new string('[', depth)}{new string(']', depth)}\n"));
                yield return ("deep-map", ".yaml", Encoding.UTF8.GetBytes("tasks:\n" + string.Concat(Enumerable.Range(0, Math.Min(depth, 3_000)).Select(d => new string(' ', d) + "a:\n"))));
            }

            // Long strings where names and values go.
            foreach (var length in new[] { 201, 10_000, 1_000_000, 5_000_000 })
            {
                var longText = new string('k', length);
                yield return ("long-key", ".json", Encoding.UTF8.GetBytes($"{{\"tasks\":[{{\"id\":\"a\",\"worker\":\"simulate\",\"{longText}\":1}}]}}"));
                yield return ("long-id", ".json", Encoding.UTF8.GetBytes($"{{\"tasks\":[{{\"id\":\"{longText}\",\"worker\":\"simulate\"}}]}}"));
                yield return ("long-worker", ".json", Encoding.UTF8.GetBytes($"{{\"tasks\":[{{\"id\":\"a\",\"worker\":\"{longText}\"}}]}}"));
                yield return ("long-dependency", ".json", Encoding.UTF8.GetBytes($"{{\"tasks\":[{{\"id\":\"a\",\"worker\":\"simulate\",\"depends_on\":[\"{longText}\"]}}]}}"));
                yield return ("long-value", ".yaml", Encoding.UTF8.GetBytes($"tasks:\n  - id: a\n    worker: template\n    with: {{ text: \"{longText}\" }}\n"));
                yield return ("long-line", ".json", Encoding.UTF8.GetBytes($"{{\"id\":\"x\",\"description\":\"{longText}\",\"tasks\":[{{\"id\":\"a\",\"worker\":\"simulat\"}}]}}"));
            }

            // Unicode: surrogates, control characters, invalid UTF-8, byte order marks.
            foreach (var text in new[] { "\\ud800", "\\udfff", "\\ud800\\ud800", "\\udc00\\ud800", "\\u0000", "\\u001f", "\u200b", "\u202e", "😀", "\\uffff", "é" })
            {
                yield return ("unicode-id", ".json", Encoding.UTF8.GetBytes($"{{\"id\":\"{text}\",\"tasks\":[{{\"id\":\"{text}\",\"worker\":\"simulate\"}}]}}"));
                yield return ("unicode-key", ".json", Encoding.UTF8.GetBytes($"{{\"tasks\":[{{\"id\":\"a\",\"worker\":\"simulate\",\"{text}\":1}}]}}"));
                yield return ("unicode-yaml", ".yaml", Encoding.UTF8.GetBytes($"tasks:\n  - id: \"{text}\"\n    worker: simulate\n"));
            }

            yield return ("invalid-utf8", ".json", [.. "{\"tasks\":[{\"id\":\""u8, 0xff, 0xfe, 0xc3, .. "\",\"worker\":\"simulate\"}]}"u8]);
            yield return ("invalid-utf8", ".yaml", [.. "tasks:\n  - id: "u8, 0xc0, 0x80, .. "\n    worker: simulate\n"u8]);
            foreach (var (extension, text) in bases.Take(6))
            {
                yield return ("bom-utf8", extension, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text)]);
                yield return ("bom-utf16", extension, [0xFF, 0xFE, .. Encoding.Unicode.GetBytes(text)]);
                yield return ("bom-utf16-be", extension, [0xFE, 0xFF, .. Encoding.BigEndianUnicode.GetBytes(text)]);
                yield return ("bom-twice", extension, [0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text)]);
            }

            // YAML anchors, aliases, bombs, tags, several documents.
            yield return ("yaml-bomb", ".yaml", Encoding.UTF8.GetBytes(
                "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ntasks: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"));
            yield return ("yaml-alias", ".yaml", Encoding.UTF8.GetBytes("tasks:\n  - &t {id: a, worker: simulate}\n  - *t\n"));
            yield return ("yaml-merge", ".yaml", Encoding.UTF8.GetBytes("base: &b {worker: simulate}\ntasks:\n  - <<: *b\n    id: a\n"));
            yield return ("yaml-tags", ".yaml", Encoding.UTF8.GetBytes("tasks:\n  - id: !!binary aGVsbG8=\n    worker: !custom simulate\n"));
            yield return ("yaml-documents", ".yaml", Encoding.UTF8.GetBytes("tasks: []\n---\ntasks: []\n"));
            yield return ("yaml-complex-key", ".yaml", Encoding.UTF8.GetBytes("? [a, b]\n: c\ntasks: []\n"));
            yield return ("yaml-tabs", ".yaml", Encoding.UTF8.GetBytes("tasks:\n\t- id: a\n"));

            // Empty, blank and binary files.
            foreach (var extension in new[] { ".json", ".yaml" })
            {
                yield return ("empty", extension, []);
                yield return ("blank", extension, Encoding.UTF8.GetBytes(" \n\t\r\n "));
                yield return ("nul", extension, new byte[64]);
                for (var i = 0; i < 20; i++)
                {
                    var bytes = new byte[random.Next(1, 4096)];
                    random.NextBytes(bytes);
                    yield return ("random-bytes", extension, bytes);
                }
            }

            // Big plans: 50k tasks, valid and with one error at the end.
            yield return ("50k-tasks", ".json", Encoding.UTF8.GetBytes(BigJson(50_000, typoAtEnd: false)));
            yield return ("50k-tasks-typo", ".json", Encoding.UTF8.GetBytes(BigJson(50_000, typoAtEnd: true)));
            yield return ("50k-tasks", ".yaml", Encoding.UTF8.GetBytes(BigYaml(50_000)));

            // Requests in the executors' formats, mutated.
            for (var i = 0; i < 40; i++)
            {
                yield return ("request", ".json", FlipBytes(Encoding.UTF8.GetBytes(Request()), random.Next(0, 4)));
            }
        }

        private byte[] FlipBytes(byte[] bytes, int flips)
        {
            var copy = (byte[])bytes.Clone();
            for (var i = 0; i < flips && copy.Length > 0; i++)
            {
                var at = random.Next(copy.Length);
                copy[at] = random.Next(3) switch
                {
                    0 => (byte)random.Next(256),
                    1 => (byte)Structural[random.Next(Structural.Length)],
                    _ => (byte)(copy[at] ^ (1 << random.Next(8))),
                };
            }

            return copy;
        }

        private string ValidJson(int tasks)
        {
            var text = new StringBuilder("{\n  \"id\": \"base\",\n  \"parallelism\": { \"max_workers\": 4 },\n  \"retry\": { \"max_attempts\": 2 },\n  \"tasks\": [\n");
            for (var i = 0; i < tasks; i++)
            {
                var dependency = i > 0 && random.Next(2) == 0 ? $", \"depends_on\": [\"t{random.Next(i)}\"]" : string.Empty;
                text.Append($"    {{ \"id\": \"t{i}\", \"worker\": \"simulate\", \"with\": {{ \"seconds\": 0 }}{dependency}, \"priority\": \"high\" }}{(i + 1 < tasks ? "," : "")}\n");
            }

            return text.Append("  ]\n}\n").ToString();
        }

        private string ValidYaml(int tasks)
        {
            var text = new StringBuilder("id: base\nparallelism: { max_workers: 4 }\ntasks:\n");
            for (var i = 0; i < tasks; i++)
            {
                text.Append($"  - id: t{i}\n    worker: template\n    with: {{ text: \"hello\" }}\n");
                if (i > 0 && random.Next(2) == 0)
                {
                    text.Append($"    after: [t{random.Next(i)}]\n");
                }
            }

            return text.ToString();
        }

        private string OddValueJson()
        {
            string Odd() => OddValues[random.Next(OddValues.Length)];
            var slots = new[]
            {
                $"{{\"id\":{Odd()},\"tasks\":[{{\"id\":\"a\",\"worker\":\"simulate\"}}]}}",
                $"{{\"tasks\":[{{\"id\":\"a\",\"worker\":{Odd()}}}]}}",
                $"{{\"tasks\":[{{\"id\":{Odd()},\"worker\":\"simulate\"}}]}}",
                $"{{\"tasks\":[{{\"id\":\"a\",\"worker\":\"simulate\",\"timeout_seconds\":{Odd()}}}]}}",
                $"{{\"tasks\":[{{\"id\":\"a\",\"worker\":\"simulate\",\"with\":{{\"seconds\":{Odd()}}}}}]}}",
                $"{{\"tasks\":[{{\"id\":\"a\",\"worker\":\"simulate\",\"depends_on\":{Odd()}}}]}}",
                $"{{\"tasks\":[{{\"id\":\"a\",\"worker\":\"simulate\",\"priority\":{Odd()},\"retry\":{{\"max_attempts\":{Odd()},\"initial_delay\":{Odd()}}}}}]}}",
                $"{{\"parallelism\":{{\"min_workers\":{Odd()},\"max_workers\":{Odd()},\"default_workers\":{Odd()}}},\"tasks\":[{{\"id\":\"a\",\"worker\":\"simulate\"}}]}}",
                $"{{\"limits\":{{\"simulate\":{Odd()}}},\"timeouts\":{{\"default_task\":{Odd()},\"max_task\":{Odd()}}},\"tasks\":[{{\"id\":\"a\",\"worker\":\"simulate\"}}]}}",
                $"{{\"budget\":{{\"tokens\":{Odd()},\"cost\":{Odd()},\"policy\":{Odd()},\"task_cap\":{Odd()}}},\"tasks\":[{{\"id\":\"a\",\"worker\":\"simulate\",\"estimate_tokens\":{Odd()}}}]}}",
                $"{{\"strategy\":{Odd()},\"on_failure\":{Odd()},\"tasks\":{Odd()}}}",
                $"{{\"tasks\":[{{\"id\":\"v\",\"worker\":\"vote\",\"with\":{{\"candidates\":{Odd()},\"quorum\":{Odd()}}}}}]}}",
                $"{{\"tasks\":[{{\"id\":\"s\",\"worker\":\"section\",\"with\":{{\"decompose\":{Odd()},\"worker\":{Odd()},\"capacity\":{Odd()}}}}}]}}",
                $"{{\"tasks\":[{{\"id\":\"t\",\"worker\":\"template\",\"with\":{{\"text\":{Odd()}}}}}]}}",
                $"{Odd()}",
            };
            return slots[random.Next(slots.Length)];
        }

        private string OddValueYaml()
        {
            var values = new[] { "~", ".nan", ".inf", "-.inf", "0x1F", "0o17", "1_000", "yes", "no", "on", "'a'", "\"\\x41\"", "2001-12-14", "[", "{", "|\n  text", ">-\n  folded", "-", "?", "@x", "`x`", "%TAG" };
            string Odd() => values[random.Next(values.Length)];
            return random.Next(4) switch
            {
                0 => $"id: {Odd()}\ntasks:\n  - id: a\n    worker: simulate\n",
                1 => $"tasks:\n  - id: a\n    worker: {Odd()}\n",
                2 => $"tasks:\n  - id: a\n    worker: simulate\n    timeout_seconds: {Odd()}\n",
                _ => $"parallelism:\n  max_workers: {Odd()}\ntasks:\n  - id: {Odd()}\n    worker: simulate\n",
            };
        }

        private string GraphJson(int count)
        {
            var tasks = new List<string>();
            for (var i = 0; i < count; i++)
            {
                var dependencies = Enumerable.Range(0, random.Next(0, 4)).Select(_ => random.Next(3) switch
                {
                    0 => $"\"t{i}\"",
                    1 => $"\"t{random.Next(count + 2)}\"",
                    _ => $"\"t{random.Next(Math.Max(1, i))}\"",
                });
                var id = random.Next(10) == 0 ? $"t{random.Next(count)}" : $"t{i}";
                var duplicateKey = random.Next(8) == 0 ? ",\"worker\":\"template\"" : string.Empty;
                tasks.Add($"{{\"id\":\"{id}\",\"worker\":\"simulate\"{duplicateKey},\"{(random.Next(2) == 0 ? "depends_on" : "after")}\":[{string.Join(",", dependencies)}]}}");
            }

            return $"{{\"tasks\":[{string.Join(",\n", tasks)}]}}";
        }

        private static string BigJson(int count, bool typoAtEnd)
        {
            var text = new StringBuilder("{\"tasks\":[");
            for (var i = 0; i < count; i++)
            {
                text.Append(i == 0 ? "" : ",").Append($"{{\"id\":\"t{i}\",\"worker\":\"{(typoAtEnd && i == count - 1 ? "simulat" : "simulate")}\"{(i > 0 ? $",\"depends_on\":[\"t{i - 1}\"]" : "")}}}");
            }

            return text.Append("]}").ToString();
        }

        private static string BigYaml(int count)
        {
            var text = new StringBuilder("tasks:\n");
            for (var i = 0; i < count; i++)
            {
                text.Append($"  - {{id: t{i}, worker: simulate}}\n");
            }

            return text.ToString();
        }

        private string Request() => random.Next(2) == 0
            ? """{ "task_id": "v", "mode": "voting", "main_task": { "description": "x", "evaluation_criteria": ["quality"] }, "voters": [ { "voter_id": "a", "model": "stories15m" } ], "aggregation": "weighted_score" }"""
            : """{ "task_id": "s", "mode": "sectioning", "main_task": { "description": "x", "components": ["a", "b"] }, "worker": "simulate", "with": { "seconds": 0 } }""";
    }
}
