using System.Data.Common;
using System.Net.Sockets;
using Npgsql;

namespace ParallelFlow.Postgres;

/// <summary>
/// A PostgreSQL connection as a user writes it for <c>--journal</c> and <c>--cluster</c>: a connection string
/// (<c>Host=…;Database=…</c>) or a <c>postgresql://</c> URL, checked before anything connects, shown without its
/// password, and its failures told as what to do. Compiled into the journal and the Orleans assemblies alike, so both
/// options take the same text and say the same things.
/// </summary>
internal static class PostgresConnectionText
{
    /// <summary>The settings a misspelt key is compared with: those people write.</summary>
    private static readonly string[] Keywords =
    [
        "Host", "Port", "Database", "Username", "Password", "Passfile", "SSL Mode", "Trust Server Certificate", "Root Certificate",
        "Timeout", "Command Timeout", "Search Path", "Application Name", "Pooling", "Minimum Pool Size", "Maximum Pool Size",
        "Keepalive", "Target Session Attributes", "Include Error Detail", "Options",
    ];

    /// <summary>Whether <paramref name="text"/> is meant as a PostgreSQL connection: a <c>postgres://</c> or
    /// <c>postgresql://</c> URL, or <c>key=value</c> pairs that are not SQLite's (<c>Data Source=…</c>). A misspelt
    /// connection string is one too, so that it is refused rather than taken for a file name.</summary>
    public static bool Names(string text)
    {
        if (text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (!text.Contains('=', StringComparison.Ordinal))
        {
            return false;
        }

        // A setting PostgreSQL's strings have, wherever it is: such text is never a file name, even when it does not
        // parse (a password with a ';' in it), so that it is refused rather than written to disk under its own name.
        if (System.Text.RegularExpressions.Regex.IsMatch(text, @"(^|;)\s*(host|server|password|username|user id|database)\s*=", System.Text.RegularExpressions.RegexOptions.IgnoreCase))
        {
            return true;
        }

        // Other key=value text is a connection string unless it is SQLite's, or a path with '=' in a folder name.
        var keys = Keys(text);
        return keys.Count > 0
            && !keys.Any(key => key is "data source" or "datasource" or "filename")
            && !keys.Any(key => key.Contains('/', StringComparison.Ordinal) || key.Contains('\\', StringComparison.Ordinal) || key.StartsWith('.'));
    }

    /// <summary>The connection string to connect with: a URL turned into one, every key one Npgsql knows, a host named.</summary>
    /// <exception cref="FormatException">What is wrong, and how to write it; never the text itself, which may hold a password.</exception>
    public static string Normalize(string text)
    {
        const string Advice = "write Host=HOST;Port=5432;Database=NAME;Username=USER (or postgresql://USER@HOST:PORT/NAME), with the password in PGPASSWORD";
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(text.Contains("://", StringComparison.Ordinal) ? FromUrl(text) : text);
        }
        catch (FormatException ex)
        {
            // Said by FromUrl, naming only a setting of the URL's query.
            throw new FormatException($"the PostgreSQL URL is not valid: {ex.Message}; {Advice}", ex);
        }
        catch (Exception ex) when (ex is ArgumentException or UriFormatException)
        {
            // Never the text itself, nor a parser's message about it: either may hold the password.
            var unusable = text.Contains("://", StringComparison.Ordinal) ? null : Unusable(text);
            var hint = unusable is null ? "it does not parse as key=value pairs separated by ';'"
                : new NpgsqlConnectionStringBuilder().ContainsKey(unusable) ? $"the value of '{unusable}' is not valid"
                : ParallelFlow.Engine.Plans.DisplayText.Suggest(unusable, Keywords) is { } close ? $"'{unusable}' is not a PostgreSQL setting (did you mean '{close}'?)"
                : $"'{unusable}' is not a PostgreSQL setting";
            throw new FormatException($"the PostgreSQL connection string is not valid: {hint}; {Advice}", ex);
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new FormatException("the PostgreSQL connection string names no Host=; write Host=HOST;Port=5432;Database=NAME;Username=USER");
        }

        return builder.ConnectionString;
    }

    /// <summary>The connection string as it may be shown: without its password, nor the settings ParallelFlow adds.</summary>
    public static string Shown(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.Remove("Password");
        builder.Remove("SSL Password");
        builder.Remove("Max Auto Prepare");
        builder.Remove("Application Name");
        return builder.ConnectionString;
    }

    /// <summary>What a failure to use the database means and what to do, without the connection's text; null for one
    /// that is not PostgreSQL's.</summary>
    public static string? Explain(Exception error)
    {
        for (var inner = error; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case PostgresException { SqlState: "28P01" or "28000" } refused:
                    return $"PostgreSQL refused the login ({refused.MessageText}); give the password in PGPASSWORD or a ~/.pgpass file rather than on a command line";
                case PostgresException { SqlState: "3D000" } missing:
                    return $"{missing.MessageText}; create it (createdb) or name another with Database=";
                case PostgresException { SqlState: "42501" } denied:
                    return $"the user may not create or write ParallelFlow's tables ({denied.MessageText}); grant it, or name another database";
                case PostgresException other:
                    return $"PostgreSQL: {other.MessageText}";
                case NpgsqlException { InnerException: TimeoutException } exhausted when exhausted.Message.Contains("pool", StringComparison.OrdinalIgnoreCase):
                    return $"every connection of the pool is in use ({exhausted.Message})";
                case NpgsqlException { InnerException: SocketException or IOException } unreachable:
                    return $"cannot reach PostgreSQL ({unreachable.InnerException!.Message}); is the server running, and listening on that host and port?";
                case NpgsqlException { InnerException: TimeoutException } slow:
                    return $"PostgreSQL did not answer in time ({slow.Message}); is the server reachable and not overloaded? (Timeout= and Command Timeout= set the waits)";
                case NpgsqlException noPassword when noPassword.Message.Contains("No password has been provided", StringComparison.Ordinal):
                    return "PostgreSQL asks for a password and none was given: set PGPASSWORD (or write a ~/.pgpass file) on this machine";
                case NpgsqlException failed:
                    return failed.Message;
            }
        }

        return null;
    }

    /// <summary>The first key of <paramref name="text"/> that Npgsql refuses, with its own value; null when none alone is.</summary>
    private static string? Unusable(string text)
    {
        var pairs = new DbConnectionStringBuilder();
        try
        {
            pairs.ConnectionString = text;
        }
        catch (ArgumentException)
        {
            return null;
        }

        foreach (string key in pairs.Keys)
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder { [key] = pairs[key] };
            }
            catch (ArgumentException)
            {
                // As the user wrote it: the parser keeps keys in lower case.
                var at = text.IndexOf(key, StringComparison.OrdinalIgnoreCase);
                return at < 0 ? key : text.Substring(at, key.Length);
            }
        }

        return null;
    }

    private static List<string> Keys(string text)
    {
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = text;
        }
        catch (ArgumentException)
        {
            return [];
        }

        return [.. builder.Keys.Cast<string>().Select(key => key.ToLowerInvariant())];
    }

    /// <summary>A <c>postgresql://user:password@host:port/database?key=value</c> URL as a connection string.</summary>
    private static string FromUrl(string url)
    {
        var uri = new Uri(url);
        var builder = new NpgsqlConnectionStringBuilder { Host = uri.Host };
        if (uri.Port > 0)
        {
            builder.Port = uri.Port;
        }

        if (uri.AbsolutePath.Trim('/') is { Length: > 0 } database)
        {
            builder.Database = Uri.UnescapeDataString(database);
        }

        if (uri.UserInfo is { Length: > 0 } user)
        {
            var colon = user.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? user : user[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(user[(colon + 1)..]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            try
            {
                builder[key] = equals < 0 ? "true" : Uri.UnescapeDataString(pair[(equals + 1)..]);
            }
            catch (ArgumentException ex)
            {
                throw new FormatException(builder.ContainsKey(key) ? $"the value of '{key}' is not valid" : $"'{key}' is not a PostgreSQL setting", ex);
            }
        }

        return builder.ConnectionString;
    }
}
