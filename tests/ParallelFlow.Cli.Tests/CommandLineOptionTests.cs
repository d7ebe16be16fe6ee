using System.CommandLine;

namespace ParallelFlow.Cli.Tests;

/// <summary>Every numeric option of every command refuses what is not a number it can use with one line naming the
/// option and exit code 2 — never an exception. The options are found by walking the command tree, so an option added
/// later is covered without touching this test.</summary>
public sealed class CommandLineOptionTests
{
    /// <summary>Values no numeric option takes: every number the command line takes is positive and finite.</summary>
    public static TheoryData<string> BadNumbers => ["abc", "NaN", "-5", "1e999", "0x10", "", "2.5 (whole numbers only)", "99999999999999999999 (whole numbers only)"];

    [Fact]
    public void The_command_tree_has_numeric_options_to_check() =>
        Assert.True(NumericOptions().Count() >= 4, "the walk found no numeric options: it no longer sees the command tree");

    [Theory]
    [MemberData(nameof(BadNumbers))]
    public async Task Every_numeric_option_of_every_command_refuses_a_bad_value_with_exit_code_2(string value)
    {
        var wholeOnly = value.EndsWith("(whole numbers only)", StringComparison.Ordinal);
        value = value.Split(' ')[0];
        foreach (var (path, option) in NumericOptions())
        {
            if (wholeOnly && (Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType) != typeof(int))
            {
                continue;
            }

            var args = path.Concat([option.Name, value]).ToArray();
            var (exitCode, output, error) = await InProcessCli.RunAsync(args);

            Assert.True(exitCode == 2, $"{string.Join(' ', args)}: exit code {exitCode}\n{error}{output}");
            Assert.Contains(option.Name, error, StringComparison.Ordinal);
            Assert.DoesNotContain("bug", error, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("   at ", error + output, StringComparison.Ordinal);
            Assert.DoesNotContain("System.", error, StringComparison.Ordinal);
        }
    }

    /// <summary>Each command (with the arguments it requires) and its options whose value is a number.</summary>
    private static IEnumerable<(string[] Path, Option Option)> NumericOptions()
    {
        var root = CliApplication.CreateRoot(new CliConsole(TextWriter.Null, TextWriter.Null, false));
        foreach (var (command, path) in Walk(root, []))
        {
            foreach (var option in command.Options)
            {
                var type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
                if (type == typeof(int) || type == typeof(long) || type == typeof(double) || type == typeof(decimal))
                {
                    yield return (path, option);
                }
            }
        }
    }

    private static IEnumerable<(Command Command, string[] Path)> Walk(Command command, string[] path)
    {
        foreach (var sub in command.Subcommands)
        {
            // A valid value for each argument, so that only the option is wrong.
            var arguments = sub.Arguments.Select(a => a.Name == "plan" ? "examples/release-check.json" : "x");
            var subPath = path.Append(sub.Name).Concat(arguments).ToArray();
            yield return (sub, subPath);
            foreach (var nested in Walk(sub, [.. path, sub.Name]))
            {
                yield return nested;
            }
        }
    }
}
