namespace ParallelFlow.Sdk;

/// <summary>"Did you mean": the known name closest to a typo. Shared with the engine.</summary>
internal static class Suggestions
{
    /// <summary>The longest name compared: a typo of a 10-letter key is never thousands of characters long.</summary>
    private const int MaxCompared = 80;

    /// <summary>The known name closest to what was typed, when it is close enough to be a typo.</summary>
    /// <remarks>Only names whose length is within the allowed distance are compared, and nothing longer than
    /// <see cref="MaxCompared"/> is: comparing a 20-million-character string with each key would cost 20 million steps
    /// per key.</remarks>
    public static string? Closest(string typed, IEnumerable<string> known)
    {
        if (typed.Length > MaxCompared)
        {
            return null;
        }

        var allowed = Math.Max(2, typed.Length / 3);
        var lower = typed.ToLowerInvariant();
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            if (Math.Abs(candidate.Length - typed.Length) > allowed)
            {
                continue;
            }

            var distance = EditDistance(lower, candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return bestDistance <= allowed ? best : null;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
