using Npgsql;

namespace ParallelFlow.Orleans;

/// <summary>
/// The membership table of a cluster in PostgreSQL, for Orleans' ADO.NET clustering provider. That provider issues only
/// the queries it finds in a table named <c>OrleansQuery</c>, by key, with fixed parameter and column names; this class
/// creates ParallelFlow's own tables and those queries when they are missing, once, under an advisory lock, so that the
/// first silo to start against an empty database prepares it and the others find it ready.
/// </summary>
/// <remarks>The table version is the ETag of every row, as the provider expects: an insert or an update of a member
/// takes effect only together with the version step it was read at, in one statement, or neither does.</remarks>
internal static class PostgresMembership
{
    private const long InstallLock = 0x50_46_43_6C_75_73_74;

    private const string Tables = """
        CREATE TABLE IF NOT EXISTS OrleansQuery (QueryKey VARCHAR(64) PRIMARY KEY, QueryText TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS parallelflow_membership_version (
          deployment_id VARCHAR(150) PRIMARY KEY,
          changed_at TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
          version INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS parallelflow_membership (
          deployment_id VARCHAR(150) NOT NULL REFERENCES parallelflow_membership_version (deployment_id),
          address VARCHAR(45) NOT NULL, port INTEGER NOT NULL, generation INTEGER NOT NULL,
          silo_name VARCHAR(150) NOT NULL, host_name VARCHAR(150) NOT NULL, status INTEGER NOT NULL, proxy_port INTEGER,
          suspect_times VARCHAR(8000), start_time TIMESTAMPTZ(3) NOT NULL, i_am_alive_time TIMESTAMPTZ(3) NOT NULL,
          PRIMARY KEY (deployment_id, address, port, generation));
        """;

    private const string Member = "deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation";

    private const string Columns = """
        v.deployment_id AS "DeploymentId", m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
        m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
        m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime", v.version AS "Version"
        """;

    /// <summary>The provider's queries by key. Statuses are Orleans' <c>SiloStatus</c>: 6 is Dead.</summary>
    internal static readonly IReadOnlyDictionary<string, string> Queries = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["InsertMembershipVersionKey"] = """
            WITH added AS (
              INSERT INTO parallelflow_membership_version (deployment_id) VALUES (@DeploymentId)
              ON CONFLICT (deployment_id) DO NOTHING RETURNING 1)
            SELECT CAST(COUNT(*) AS INTEGER) FROM added;
            """,
        ["InsertMembershipKey"] = $"""
            WITH stepped AS (
              UPDATE parallelflow_membership_version SET version = version + 1, changed_at = now()
              WHERE deployment_id = @DeploymentId AND version = @Version AND version < 2147483647
                AND NOT EXISTS (SELECT 1 FROM parallelflow_membership WHERE {Member})
              RETURNING deployment_id),
            added AS (
              INSERT INTO parallelflow_membership (deployment_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive_time)
              SELECT deployment_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime FROM stepped
              RETURNING 1)
            SELECT CAST(COUNT(*) AS INTEGER) FROM added;
            """,
        ["UpdateMembershipKey"] = $"""
            WITH stepped AS (
              UPDATE parallelflow_membership_version SET version = version + 1, changed_at = now()
              WHERE deployment_id = @DeploymentId AND version = @Version AND version < 2147483647
                AND EXISTS (SELECT 1 FROM parallelflow_membership WHERE {Member})
              RETURNING deployment_id),
            changed AS (
              UPDATE parallelflow_membership SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = GREATEST(i_am_alive_time, @IAmAliveTime)
              WHERE {Member} AND EXISTS (SELECT 1 FROM stepped)
              RETURNING 1)
            SELECT CAST(COUNT(*) AS INTEGER) FROM changed;
            """,
        ["UpdateIAmAlivetimeKey"] = $"""
            UPDATE parallelflow_membership SET i_am_alive_time = GREATEST(i_am_alive_time, @IAmAliveTime) WHERE {Member};
            """,
        ["MembershipReadRowKey"] = $"""
            SELECT {Columns}
            FROM parallelflow_membership_version v
              LEFT JOIN parallelflow_membership m ON m.deployment_id = v.deployment_id
                AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
            WHERE v.deployment_id = @DeploymentId;
            """,
        ["MembershipReadAllKey"] = $"""
            SELECT {Columns}
            FROM parallelflow_membership_version v
              LEFT JOIN parallelflow_membership m ON m.deployment_id = v.deployment_id
            WHERE v.deployment_id = @DeploymentId;
            """,
        ["DeleteMembershipTableEntriesKey"] = """
            DELETE FROM parallelflow_membership WHERE deployment_id = @DeploymentId;
            DELETE FROM parallelflow_membership_version WHERE deployment_id = @DeploymentId;
            """,
        ["GatewaysQueryKey"] = """
            SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
            FROM parallelflow_membership
            WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0;
            """,
        // Dead members that nobody suspects any more and that have not been heard of since the given time.
        ["CleanupDefunctSiloEntriesKey"] = """
            DELETE FROM parallelflow_membership
            WHERE deployment_id = @DeploymentId AND status = 6
              AND i_am_alive_time < @IAmAliveTime AND start_time < @IAmAliveTime AND COALESCE(suspect_times, '') = '';
            """,
        // One dead member, only as it was read: a row changed since is left alone.
        ["CleanupDefunctSiloEntryKey"] = $"""
            DELETE FROM parallelflow_membership
            WHERE {Member} AND status = 6
              AND i_am_alive_time = @IAmAliveTime AND start_time = @StartTime
              AND COALESCE(suspect_times, '') = COALESCE(@SuspectTimes, '');
            """,
    };

    /// <summary>Creates the tables and queries that are missing; leaves those that exist as they are.</summary>
    public static async Task InstallAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var locked = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({InstallLock}); {Tables}", connection, transaction))
        {
            await locked.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var (key, text) in Queries)
        {
            await using var insert = new NpgsqlCommand("INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ($1, $2) ON CONFLICT (QueryKey) DO NOTHING;", connection, transaction);
            insert.Parameters.Add(new NpgsqlParameter { Value = key });
            insert.Parameters.Add(new NpgsqlParameter { Value = text });
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
