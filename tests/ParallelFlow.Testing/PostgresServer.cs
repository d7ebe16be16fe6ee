using System.Diagnostics;
using System.Globalization;

namespace ParallelFlow.Testing;

/// <summary>
/// A PostgreSQL server of its own for a test: Debian's <c>postgresql</c> binaries, a new cluster in a temporary folder,
/// listening on 127.0.0.1 and a free port, with a password login. PostgreSQL refuses to run as root, so under root it
/// runs as the <c>postgres</c> user (<c>setpriv</c>, which execs, so the PID held is the server's). Stopped by that PID
/// (a fast shutdown, then kill) and its folder deleted on dispose.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    /// <summary>The superuser the cluster is created with.</summary>
    public const string User = "parallelflow";

    private readonly Process _server;
    private readonly string _folder;
    private readonly string _bin;

    private PostgresServer(Process server, string bin, string folder, int port, string password)
    {
        _server = server;
        _bin = bin;
        _folder = folder;
        Port = port;
        Password = password;
    }

    /// <summary>The port it listens on, on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The superuser's password, random for each server.</summary>
    public string Password { get; }

    /// <summary>The server's PID.</summary>
    public int ProcessId => _server.Id;

    /// <summary>A connection string to one of its databases, without the password (give it in PGPASSWORD).</summary>
    public string ConnectionString(string database = "postgres") => $"Host=127.0.0.1;Port={Port};Database={database};Username={User}";

    /// <summary>A connection string to one of its databases, with the password.</summary>
    public string ConnectionStringWithPassword(string database = "postgres") => $"{ConnectionString(database)};Password={Password}";

    /// <summary>Creates a cluster and starts its server; fails with what to install when PostgreSQL is missing.</summary>
    public static PostgresServer Start()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.EnumerateDirectories("/usr/lib/postgresql").Select(v => Path.Combine(v, "bin")).Where(b => File.Exists(Path.Combine(b, "postgres"))).OrderByDescending(b => b, StringComparer.Ordinal).FirstOrDefault()
            : null;
        if (bin is null)
        {
            throw new InvalidOperationException("PostgreSQL is not installed: apt-get install postgresql (.ci/run does)");
        }

        var folder = Directory.CreateTempSubdirectory("parallelflow-pg-").FullName;
        var password = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var passwordFile = Path.Combine(folder, "password");
        File.WriteAllText(passwordFile, password);
        var root = Environment.UserName == "root";
        if (root)
        {
            Run("chown", "-R", "postgres:postgres", folder);
        }

        var data = Path.Combine(folder, "data");
        Run(AsServerUser(root, Path.Combine(bin, "initdb"), "-D", data, "-U", User, $"--pwfile={passwordFile}", "--auth=scram-sha-256", "-E", "UTF8", "--no-sync", "--no-instructions"));
        var port = FreePorts.Next();
        var start = Info(AsServerUser(root, Path.Combine(bin, "postgres"), "-D", data, "-p", port.ToString(CultureInfo.InvariantCulture), "-k", folder,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"));
        var server = Process.Start(start)!;
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        var instance = new PostgresServer(server, bin, folder, port, password);
        var clock = Stopwatch.StartNew();
        while (!Ready(bin, port))
        {
            if (server.HasExited || clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                instance.Dispose();
                throw new InvalidOperationException($"PostgreSQL did not start on 127.0.0.1:{port} within 30 s");
            }

            Thread.Sleep(100);
        }

        return instance;
    }

    /// <summary>Creates a database on the server, owned by <see cref="User"/>.</summary>
    public void CreateDatabase(string name)
    {
        var create = Info([Path.Combine(_bin, "createdb"), "-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", User, name]);
        create.Environment["PGPASSWORD"] = Password;
        using var process = Process.Start(create)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"createdb {name}: {error}");
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_server.HasExited)
        {
            // Fast shutdown: clients are disconnected, the server ends cleanly.
            using (var stop = Process.Start("kill", ["-INT", _server.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                stop.WaitForExit();
            }

            if (!_server.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                _server.Kill();
                _server.WaitForExit();
            }
        }

        _server.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static bool Ready(string bin, int port)
    {
        using var probe = Process.Start(Info([Path.Combine(bin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture)]))!;
        probe.WaitForExit();
        return probe.ExitCode == 0;
    }

    private static string[] AsServerUser(bool root, params string[] command) =>
        root ? ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", .. command] : command;

    private static ProcessStartInfo Info(string[] command)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (var arg in command[1..])
        {
            info.ArgumentList.Add(arg);
        }

        return info;
    }

    private static void Run(params string[] command)
    {
        using var process = Process.Start(Info(command))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} exited {process.ExitCode}: {error}{output.Result}");
        }
    }

}
