using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ParallelFlow.Engine.Plans;

namespace ParallelFlow.Engine.Execution;

/// <summary>How much one task's inputs were cut down (<c>context</c>), for the report.</summary>
/// <param name="Strategy">The strategy.</param>
/// <param name="Compressed">How many dependency outputs were over the limit and cut down.</param>
/// <param name="TokensBefore">The tokens of those outputs before.</param>
/// <param name="TokensAfter">Their tokens as the task received them.</param>
/// <param name="SummaryUsage">What summarizing them cost (the <c>summarize</c> strategy's model calls).</param>
public sealed record ContextReport(string Strategy, int Compressed, long TokensBefore, long TokensAfter, Sdk.TaskUsage SummaryUsage)
{
    /// <summary>The tokens the task did not receive.</summary>
    public long TokensSaved => TokensBefore - TokensAfter;
}

/// <summary>The strategies of <see cref="ContextSettings"/> that need no model: each keeps a text within a token limit
/// by the given count, and leaves one within it as it is.</summary>
public static class ContextCompressor
{
    /// <summary>Cuts a text down to its limit (<see cref="ContextSettings.MaxTokens"/>) by a strategy that needs no model.</summary>
    /// <param name="text">The text.</param>
    /// <param name="settings">The limit and strategy (<c>truncate_middle</c>, <c>head_tail</c> or <c>extract</c>).</param>
    /// <param name="count">The token count of a text.</param>
    /// <returns>The text as passed on.</returns>
    public static string Compress(string text, ContextSettings settings, Func<string, int> count)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(count);
        if (count(text) <= settings.MaxTokens)
        {
            return text;
        }

        return settings.Strategy switch
        {
            ContextSettings.HeadTail => HeadTail(text, settings.MaxTokens, count),
            ContextSettings.Extract => Extract(text, settings, count),
            _ => TruncateMiddle(text, settings.MaxTokens, count),
        };
    }

    /// <summary>The beginning and the end, each half the limit, with a line that says what was cut between them.</summary>
    internal static string TruncateMiddle(string text, int maxTokens, Func<string, int> count)
    {
        var total = count(text);
        var marker = Marker(total, 0, lines: false);
        var budget = Math.Max(0, maxTokens - count(marker));
        var head = LongestPrefix(text, budget / 2 + budget % 2, count);
        var tail = LongestSuffix(text[head..], budget / 2, count);
        var cut = total - count(text[..head]) - count(text[^tail..]);
        return string.Concat(text.AsSpan(0, head), Marker(cut, 0, lines: false), text.AsSpan(text.Length - tail));
    }

    /// <summary>Whole lines: as many from the top as fit in two thirds of the limit, then from the bottom in the rest.</summary>
    internal static string HeadTail(string text, int maxTokens, Func<string, int> count)
    {
        var lines = text.Split('\n');
        var marker = Marker(lines.Length, 0, lines: true);
        var budget = Math.Max(0, maxTokens - count(marker));
        var headBudget = budget * 2 / 3;
        int first = 0, used = 0;
        while (first < lines.Length && used + count(lines[first] + "\n") <= headBudget)
        {
            used += count(lines[first] + "\n");
            first++;
        }

        var last = lines.Length;
        while (last > first && used + count(lines[last - 1] + "\n") <= budget)
        {
            used += count(lines[last - 1] + "\n");
            last--;
        }

        if (first == 0 && last == lines.Length)
        {
            // Not one whole line fits: cut inside them instead.
            return TruncateMiddle(text, maxTokens, count);
        }

        var kept = new StringBuilder();
        kept.AppendJoin('\n', lines[..first]);
        kept.Append(Marker(last - first, 0, lines: true));
        kept.AppendJoin('\n', lines[last..]);
        return kept.ToString();
    }

    /// <summary>What the paths select in a JSON output and what the pattern matches, one per line; cut to the limit if
    /// that is still over it.</summary>
    internal static string Extract(string text, ContextSettings settings, Func<string, int> count)
    {
        var found = new List<string>();
        if (settings.Paths.Count > 0)
        {
            try
            {
                using var document = JsonDocument.Parse(text);
                foreach (var path in settings.Paths)
                {
                    foreach (var value in Select(document.RootElement, path))
                    {
                        found.Add($"{path}: {(value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText())}");
                    }
                }
            }
            catch (JsonException)
            {
                // Not JSON: only the pattern can find anything in it.
            }
        }

        if (settings.Pattern is { } pattern)
        {
            foreach (Match match in Regex.Matches(text, pattern, RegexOptions.None, TimeSpan.FromSeconds(2)))
            {
                found.Add(match.Groups.Count > 1 ? match.Groups[1].Value : match.Value);
            }
        }

        var extracted = string.Join('\n', found);
        return count(extracted) <= settings.MaxTokens ? extracted : TruncateMiddle(extracted, settings.MaxTokens, count);
    }

    /// <summary>The values a path selects: names separated by dots, each with an optional <c>[index]</c> or <c>[*]</c>;
    /// a leading <c>$</c> or <c>$.</c> is the root.</summary>
    internal static IEnumerable<JsonElement> Select(JsonElement root, string path)
    {
        var current = new List<JsonElement> { root };
        var trimmed = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
        foreach (var segment in trimmed.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var bracket = segment.IndexOf('[', StringComparison.Ordinal);
            var name = bracket < 0 ? segment : segment[..bracket];
            var next = new List<JsonElement>();
            foreach (var element in current)
            {
                var value = element;
                if (name.Length > 0)
                {
                    if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out value))
                    {
                        continue;
                    }
                }

                if (bracket < 0)
                {
                    next.Add(value);
                    continue;
                }

                var index = segment[(bracket + 1)..].TrimEnd(']');
                if (value.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }

                if (index == "*")
                {
                    next.AddRange(value.EnumerateArray());
                }
                else if (int.TryParse(index, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) && i >= 0 && i < value.GetArrayLength())
                {
                    next.Add(value[i]);
                }
            }

            current = next;
        }

        return current;
    }

    private static string Marker(int amount, int kept, bool lines) => lines
        ? string.Create(CultureInfo.InvariantCulture, $"\n…[{Math.Max(0, amount - kept)} lines cut]…\n")
        : string.Create(CultureInfo.InvariantCulture, $"\n…[{Math.Max(0, amount - kept)} tokens cut]…\n");

    /// <summary>The longest prefix (in characters) within a token budget.</summary>
    private static int LongestPrefix(string text, int budget, Func<string, int> count)
    {
        int low = 0, high = text.Length;
        while (low < high)
        {
            var middle = (low + high + 1) / 2;
            if (count(text[..middle]) <= budget)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        return low;
    }

    /// <summary>The longest suffix (in characters) within a token budget.</summary>
    private static int LongestSuffix(string text, int budget, Func<string, int> count)
    {
        int low = 0, high = text.Length;
        while (low < high)
        {
            var middle = (low + high + 1) / 2;
            if (count(text[^middle..]) <= budget)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        return low;
    }
}
