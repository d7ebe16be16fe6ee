using System.Globalization;
using System.Text;

namespace ParallelFlow.Plugins.Process;

/// <summary>
/// Everything a process task started, and ending it. Each program the worker starts gets a token in the environment
/// variable <see cref="Variable"/>, which every descendant inherits — also one that called <c>setsid</c>, double-forked
/// into a daemon or was reparented to init — so the task's processes are found by that token (and by parent links
/// from the program, for a descendant that cleared its environment) and killed, round after round until none is left.
/// </summary>
/// <remarks>
/// <para>The token names the process that owns it, with its start time. An owner leaves a marker file (see
/// <see cref="OwnersFolder"/>) while it runs and removes it when it exits normally, ending the trees of tasks still
/// running then; an owner that was killed (<c>kill -9</c>) or crashed leaves its marker, and the next load of the
/// worker kills the processes carrying its tokens (<see cref="SweepOrphans"/>). Daemons a task started on purpose and
/// left behind after a normal run are not touched.</para>
/// <para>This is Linux's /proc. Elsewhere the program's own tree is killed (<see cref="System.Diagnostics.Process.Kill(bool)"/>).
/// A process escapes only by both detaching and clearing its environment (or unsetting the variable), which is also
/// how a task deliberately leaves a daemon running.</para>
/// </remarks>
internal static class ProcessTree
{
    /// <summary>The environment variable that carries the tokens of the process tasks a process belongs to,
    /// comma-separated (a process task inside a process task carries both).</summary>
    public const string Variable = "PARALLELFLOW_PROCESS_TREE";

    private const int MaxRounds = 50;
    private static readonly string Owner = $"{Environment.ProcessId}.{StartTimeOf(Environment.ProcessId) ?? 0}";
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, System.Diagnostics.Process> Running = new(StringComparer.Ordinal);
    private static readonly Lazy<string?> Marker = new(CreateMarker);
    private static long s_serial;

    /// <summary>Where owners leave their markers: one folder per user, in the temp folder.</summary>
    public static string OwnersFolder { get; } = Path.Combine(Path.GetTempPath(), $"parallelflow-{Environment.UserName}", "owners");

    /// <summary>A new token for one started program; the first marks this process as an owner.</summary>
    public static string NewToken()
    {
        _ = Marker.Value;
        return $"{Owner}.{Interlocked.Increment(ref s_serial)}";
    }

    /// <summary>The variable's value for a child: the tokens this process carries, then the child's own.</summary>
    public static string ValueFor(string token) =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } inherited ? $"{inherited},{token}" : token;

    /// <summary>Remembers a started program, so that a normal exit of this process ends its tree.</summary>
    public static void Started(string token, System.Diagnostics.Process root) => Running[token] = root;

    /// <summary>Forgets a program whose task has ended.</summary>
    public static void Ended(string token) => Running.TryRemove(token, out _);

    /// <summary>Kills every process that carries the token or descends from <paramref name="root"/> (while it runs:
    /// once it has exited, its id may belong to another process), until none is left. Returns how many were killed.</summary>
    public static int Kill(string token, System.Diagnostics.Process root)
    {
        if (!OperatingSystem.IsLinux())
        {
            try
            {
                if (root.HasExited)
                {
                    return 0;
                }

                root.Kill(entireProcessTree: true);
                return 1;
            }
            catch (InvalidOperationException)
            {
                return 0;
            }
        }

        // Seeded anew each round: once the program has exited and been reaped, its id may be another process's.
        return KillUntilNoneLeft(() => Members(token, RunningId(root)));
    }

    /// <summary>Kills the processes of owners that ended without ending them (killed with <c>kill -9</c>, or crashed):
    /// those whose marker is still there though they are gone. This process and its ancestors are spared. Returns how
    /// many were killed.</summary>
    public static int SweepOrphans()
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists(OwnersFolder))
        {
            return 0;
        }

        var crashed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var marker in SafeFiles(OwnersFolder))
        {
            var owner = Path.GetFileName(marker);
            if (owner != Owner && !IsAlive(owner))
            {
                crashed[owner] = marker;
            }
        }

        if (crashed.Count == 0)
        {
            return 0;
        }

        var spared = Ancestors();
        var killed = KillUntilNoneLeft(() => [.. ProcessIds().Where(pid => !spared.Contains(pid)
            && ReadTokens(pid) is { } tokens && !IsZombie(pid)
            && tokens.Any(t => OwnerOf(t) is { } owner && crashed.ContainsKey(owner)))]);
        foreach (var marker in crashed.Values)
        {
            TryDelete(marker);
        }

        return killed;
    }

    /// <summary>Kills what the scan finds, round after round, until a scan finds nothing (or the rounds run out).
    /// Returns how many processes were killed.</summary>
    private static int KillUntilNoneLeft(Func<List<int>> scan)
    {
        var killed = new HashSet<int>();
        for (var round = 0; round < MaxRounds; round++)
        {
            var found = scan();
            if (found.Count == 0)
            {
                break;
            }

            foreach (var pid in found)
            {
                if (Signal(pid))
                {
                    killed.Add(pid);
                }
            }

            // A killed process lingers until the kill lands, and one forked between the scan and its parent's death is
            // found in the next round: give the kills a moment to land first.
            Thread.Sleep(1);
        }

        return killed.Count;
    }

    private static int RunningId(System.Diagnostics.Process root)
    {
        try
        {
            return root.HasExited ? -1 : root.Id;
        }
        catch (InvalidOperationException)
        {
            return -1;
        }
    }

    /// <summary>Leaves this process's marker, and arranges for a normal exit to end the trees still running and remove it.</summary>
    private static string? CreateMarker()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            Directory.CreateDirectory(OwnersFolder);
            var marker = Path.Combine(OwnersFolder, Owner);
            File.WriteAllText(marker, string.Empty);
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                foreach (var (token, root) in Running)
                {
                    Kill(token, root);
                }

                TryDelete(marker);
            };
            return marker;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Without a marker, a crash of this process leaves its tasks' processes for the operator; nothing else changes.
            return null;
        }
    }

    /// <summary>This process and the processes above it: an engine started by a task of a crashed owner carries that
    /// owner's token too, and must not end itself or the shell that started it.</summary>
    private static HashSet<int> Ancestors()
    {
        var ancestors = new HashSet<int>();
        for (var pid = Environment.ProcessId; pid > 1 && ancestors.Add(pid);)
        {
            pid = ReadStat(pid)?.ParentId ?? 0;
        }

        return ancestors;
    }

    private static string[] SafeFiles(string folder)
    {
        try
        {
            return Directory.GetFiles(folder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Another process swept it first, or the folder went away.
        }
    }

    private static List<int> Members(string token, int rootId)
    {
        var children = new Dictionary<int, List<int>>();
        var seeds = new List<int>();
        var self = Environment.ProcessId;
        foreach (var pid in ProcessIds())
        {
            if (pid == self || ReadStat(pid) is not { } stat || stat.State is 'Z' or 'X')
            {
                continue;
            }

            (children.TryGetValue(stat.ParentId, out var list) ? list : children[stat.ParentId] = []).Add(pid);
            if (pid == rootId || (ReadTokens(pid) is { } tokens && tokens.Contains(token)))
            {
                seeds.Add(pid);
            }
        }

        // The carriers of the token, and their descendants that dropped the variable but stayed in the tree.
        var members = new HashSet<int>(seeds);
        var pending = new Stack<int>(seeds);
        while (pending.TryPop(out var parent))
        {
            if (children.Remove(parent, out var list))
            {
                foreach (var child in list)
                {
                    if (members.Add(child))
                    {
                        pending.Push(child);
                    }
                }
            }
        }

        members.Remove(self);
        return [.. members];
    }

    private static bool Signal(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill();
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            // Gone already, or not ours to kill.
            return false;
        }
    }

    private static IEnumerable<int> ProcessIds()
    {
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateDirectories("/proc");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            yield break;
        }

        foreach (var entry in entries)
        {
            if (int.TryParse(Path.GetFileName(entry.AsSpan()), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                yield return pid;
            }
        }
    }

    /// <summary>The tokens a process carries, or null.</summary>
    private static string[]? ReadTokens(int pid)
    {
        byte[] environment;
        try
        {
            environment = File.ReadAllBytes($"/proc/{pid}/environ");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var name = Encoding.ASCII.GetBytes(Variable + "=");
        var span = environment.AsSpan();
        while (span.Length > 0)
        {
            var end = span.IndexOf((byte)0);
            var entry = end < 0 ? span : span[..end];
            if (entry.StartsWith(name))
            {
                return Encoding.UTF8.GetString(entry[name.Length..]).Split(',', StringSplitOptions.RemoveEmptyEntries);
            }

            span = end < 0 ? [] : span[(end + 1)..];
        }

        return null;
    }

    private static (char State, int ParentId, long StartTime)? ReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (command) state ppid ..."; the command may hold spaces and parentheses, so read after the last ')'.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 19
            && int.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var parent)
            && long.TryParse(fields[19], NumberStyles.Integer, CultureInfo.InvariantCulture, out var start)
                ? (fields[0][0], parent, start)
                : null;
    }

    private static long? StartTimeOf(int pid) => OperatingSystem.IsLinux() ? ReadStat(pid)?.StartTime : null;

    private static bool IsZombie(int pid) => ReadStat(pid) is not { State: not ('Z' or 'X') };

    /// <summary>"pid.start" of a token "pid.start.serial".</summary>
    private static string? OwnerOf(string token)
    {
        var last = token.LastIndexOf('.');
        return last > 0 && token.IndexOf('.', StringComparison.Ordinal) < last ? token[..last] : null;
    }

    private static bool IsAlive(string owner)
    {
        var dot = owner.IndexOf('.', StringComparison.Ordinal);
        return int.TryParse(owner.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            && long.TryParse(owner.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            && ReadStat(pid) is { State: not ('Z' or 'X') } stat
            && stat.StartTime == start;
    }
}
