using System.CommandLine;
using System.Globalization;

namespace ParallelFlow.Cli.Commands;

/// <summary>Numeric options that check what was typed and say what is wrong with it, naming the option: every number
/// the command line takes goes through here, so <c>--workers abc</c>, <c>--workers 2.5</c>, <c>--cache-ttl 1e999</c> and
/// <c>--time-scale NaN</c> are one-line errors with exit code 2, never an exception.</summary>
internal static class NumberOptions
{
    /// <summary>A whole number of at least <paramref name="min"/>.</summary>
    public static Option<int?> Whole(string name, string description, int min, params string[] aliases)
    {
        var option = new Option<int?>(name, aliases) { Description = description };
        option.CustomParser = result =>
        {
            var text = Text(result);
            if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            {
                var isNumber = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
                result.AddError($"{name}: '{text}' is not a whole number{(isNumber ? string.Empty : " (for example 4)")}");
                return null;
            }

            if (value < min)
            {
                result.AddError($"{name} must be at least {min}; got {text}");
                return null;
            }

            return value;
        };
        return option;
    }

    /// <summary>A finite number greater than <paramref name="above"/> (or at least it, when <paramref name="orEqual"/>),
    /// no larger than <paramref name="max"/>.</summary>
    public static Option<double?> Real(string name, string description, double above, bool orEqual = false, double max = double.MaxValue)
    {
        var option = new Option<double?>(name) { Description = description };
        option.CustomParser = result =>
        {
            var text = Text(result);
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value))
            {
                result.AddError($"{name}: '{text}' is not a number (for example 0.5)");
                return null;
            }

            if (value < above || (!orEqual && value == above) || value > max || double.IsInfinity(value))
            {
                var range = orEqual ? $"at least {above.ToString(CultureInfo.InvariantCulture)}" : $"greater than {above.ToString(CultureInfo.InvariantCulture)}";
                var upper = max < double.MaxValue ? $" and at most {max.ToString(CultureInfo.InvariantCulture)}" : string.Empty;
                result.AddError($"{name} must be {range}{upper}; got {text}");
                return null;
            }

            return value;
        };
        return option;
    }

    private static string Text(System.CommandLine.Parsing.ArgumentResult result) =>
        result.Tokens.Count == 0 ? string.Empty : result.Tokens[^1].Value;
}
