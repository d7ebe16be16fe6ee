using System.Diagnostics;
using System.Globalization;

namespace ParallelFlow.Plugins.Process;

/// <summary>
/// Holds a program to the task's memory limit (<c>TaskRequest.MaxMemoryBytes</c>, the plan's
/// <c>resources.max_memory_mb</c>) with an address-space limit (<c>RLIMIT_AS</c>) set by util-linux's <c>prlimit</c>
/// before the program starts, which its children inherit. Allocation past the limit fails inside the program (Python's
/// <c>MemoryError</c>, C's <c>malloc</c> returning null, C++'s <c>std::bad_alloc</c>); the exit is then reported as the
/// task going over its limit. An address-space limit counts memory a program reserves as well as memory it touches,
/// so a runtime that reserves much up front (a JVM, .NET) needs a limit above its reservation.
/// </summary>
internal static class MemoryLimit
{
    private const string Tool = "prlimit";

    // What a program says when an allocation was refused.
    private static readonly string[] Signs =
        ["MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory", "memory exhausted", "OutOfMemory", "failed to allocate"];

    private static readonly Lazy<string?> ToolPath = new(() => Find(Tool));

    /// <summary>Starts the program under the limit: <c>prlimit --as=BYTES -- PROGRAM ARGS…</c>.</summary>
    /// <exception cref="Sdk.FatalTaskException">This machine has no <c>prlimit</c> to set the limit with.</exception>
    public static void Apply(ProcessStartInfo start, long bytes)
    {
        if (!OperatingSystem.IsLinux() || ToolPath.Value is not { } tool)
        {
            throw new Sdk.FatalTaskException(
                $"resources.max_memory_mb is set ({Megabytes(bytes)} MB), but this machine cannot hold a process to it: it needs Linux with util-linux's prlimit on the PATH (apt-get install util-linux); remove the limit to run without one");
        }

        var program = start.FileName;
        var args = start.ArgumentList.ToList();
        start.FileName = tool;
        start.ArgumentList.Clear();
        start.ArgumentList.Add(string.Create(CultureInfo.InvariantCulture, $"--as={bytes}"));
        start.ArgumentList.Add("--");
        start.ArgumentList.Add(program);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
    }

    /// <summary>Whether a failed program's error output says an allocation was refused.</summary>
    public static bool WentOver(string stderr) => Signs.Any(sign => stderr.Contains(sign, StringComparison.OrdinalIgnoreCase));

    public static string Megabytes(long bytes) => (bytes / (1024.0 * 1024)).ToString("0.##", CultureInfo.InvariantCulture);

    private static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, name))
            .FirstOrDefault(File.Exists);
}
