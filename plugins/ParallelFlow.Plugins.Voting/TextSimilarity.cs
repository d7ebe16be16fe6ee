using System.Text;

namespace ParallelFlow.Plugins.Voting;

/// <summary>How alike two answers are: normalised text for short answers, word-and-bigram cosine for free text.</summary>
internal static class TextSimilarity
{
    /// <summary>Lower case, whitespace collapsed, surrounding punctuation and quotes dropped: "  The Answer is 42. " → "the answer is 42".</summary>
    public static string Normalise(string text)
    {
        var builder = new StringBuilder(text.Length);
        var space = false;
        foreach (var ch in text.Trim())
        {
            if (char.IsWhiteSpace(ch))
            {
                space = builder.Length > 0;
                continue;
            }

            if (space)
            {
                builder.Append(' ');
                space = false;
            }

            builder.Append(char.ToLowerInvariant(ch));
        }

        return builder.ToString().Trim('.', ',', ';', ':', '!', '?', '"', '\'', '`', ' ');
    }

    /// <summary>Cosine similarity of the counts of words and word pairs, in 0..1.</summary>
    public static double Cosine(string a, string b)
    {
        var x = Bag(a);
        var y = Bag(b);
        if (x.Count == 0 || y.Count == 0)
        {
            return x.Count == y.Count ? 1 : 0;
        }

        double dot = 0, nx = 0, ny = 0;
        foreach (var (term, count) in x)
        {
            nx += count * count;
            if (y.TryGetValue(term, out var other))
            {
                dot += count * other;
            }
        }

        foreach (var count in y.Values)
        {
            ny += count * count;
        }

        return dot / Math.Sqrt(nx * ny);
    }

    public static double Cosine(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count || a.Count == 0)
        {
            return 0;
        }

        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Count; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }

        return na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb);
    }

    private static Dictionary<string, int> Bag(string text)
    {
        var words = Normalise(text).Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.Trim('.', ',', ';', ':', '!', '?', '"', '\'', '(', ')'))
            .Where(w => w.Length > 0)
            .ToArray();
        var bag = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < words.Length; i++)
        {
            Add(bag, words[i]);
            if (i > 0)
            {
                Add(bag, words[i - 1] + " " + words[i]);
            }
        }

        return bag;

        static void Add(Dictionary<string, int> bag, string term) => bag[term] = bag.GetValueOrDefault(term) + 1;
    }
}
