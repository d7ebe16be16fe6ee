using System.Buffers;

namespace ParallelFlow.Engine.Diagnostics;

/// <summary>Quotes the arguments of a command line the engine prints, so that it can be pasted into a POSIX shell as it
/// is: a path with a space, a quote or a <c>$</c> stays one argument.</summary>
internal static class ShellQuote
{
    private static readonly SearchValues<char> Plain = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-");

    /// <summary>The argument as is when the shell reads it unchanged, else in single quotes.</summary>
    public static string Quote(string argument) =>
        argument.Length > 0 && !argument.AsSpan().ContainsAnyExcept(Plain)
            ? argument
            : $"'{argument.Replace("'", "'\\''", StringComparison.Ordinal)}'";

    /// <summary>A command line of several arguments, each quoted as needed.</summary>
    public static string Join(params IEnumerable<string> arguments) => string.Join(' ', arguments.Select(Quote));
}
