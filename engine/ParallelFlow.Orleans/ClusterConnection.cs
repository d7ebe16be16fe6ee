using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using ParallelFlow.Postgres;

namespace ParallelFlow.Orleans;

/// <summary>Where a cluster's members find each other, from the <c>--cluster</c> text: <c>redis://HOST:PORT</c> (a Redis
/// server holds the membership table), a PostgreSQL connection string (<c>Host=…;Database=…</c>: a database holds it,
/// the password in <c>PGPASSWORD</c>), or <c>localhost</c> (Orleans' development clustering: the first silo on this
/// machine is the primary, for a try-out).</summary>
public sealed class ClusterConnection
{
    /// <summary>The first silo port of localhost clustering (its gateway port is <see cref="LocalhostGatewayPort"/>).</summary>
    public const int LocalhostSiloPort = 11111;

    /// <summary>The gateway port of the primary silo of localhost clustering; coordinators connect there.</summary>
    public const int LocalhostGatewayPort = 30000;

    private readonly string? _connectionString;

    private ClusterConnection(ClusterKind kind, string address, string text, string? connectionString = null)
    {
        Kind = kind;
        Address = address;
        Text = text;
        _connectionString = connectionString;
    }

    /// <summary>The membership provider.</summary>
    public ClusterKind Kind { get; }

    /// <summary>The provider's address: <c>HOST:PORT</c> of the Redis or PostgreSQL server; empty for localhost.</summary>
    public string Address { get; }

    /// <summary>The text it was parsed from, without a password.</summary>
    public string Text { get; }

    /// <summary>Whether members on this machine only can join: the membership table is on a loopback address.</summary>
    public bool IsLoopback => Kind == ClusterKind.Localhost
        || Address.StartsWith("127.", StringComparison.Ordinal) || Address.StartsWith("localhost", StringComparison.OrdinalIgnoreCase) || Address.StartsWith("[::1]", StringComparison.Ordinal);

    /// <summary>Reads a connection.</summary>
    /// <param name="text"><c>redis://HOST:PORT</c> or <c>localhost</c>.</param>
    /// <returns>The connection.</returns>
    /// <exception cref="FormatException">The text is none of these; the message says what is accepted.</exception>
    public static ClusterConnection Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (trimmed.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new ClusterConnection(ClusterKind.Localhost, string.Empty, trimmed);
        }

        if (trimmed.StartsWith("redis://", StringComparison.OrdinalIgnoreCase))
        {
            var address = trimmed["redis://".Length..].TrimEnd('/');
            if (address.Length == 0 || !Uri.TryCreate("tcp://" + address, UriKind.Absolute, out var uri) || uri.Port <= 0)
            {
                throw new FormatException($"'{text}' is not a Redis address: write redis://HOST:PORT, for example redis://127.0.0.1:6379");
            }

            return new ClusterConnection(ClusterKind.Redis, $"{uri.Host}:{uri.Port}", trimmed);
        }

        if (PostgresConnectionText.Names(trimmed))
        {
            var connectionString = PostgresConnectionText.Normalize(trimmed);
            var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
            return new ClusterConnection(ClusterKind.PostgreSql, $"{builder.Host}:{builder.Port}", PostgresConnectionText.Shown(connectionString), connectionString);
        }

        var shown = text.Contains("password", StringComparison.OrdinalIgnoreCase) ? "the text given" : $"'{text}'";
        throw new FormatException($"{shown} is not a cluster connection: write redis://HOST:PORT (a Redis server holds the membership), Host=HOST;Database=NAME or postgresql://USER@HOST/NAME (a PostgreSQL database does), or localhost (one machine, for a try-out)");
    }

    /// <inheritdoc/>
    public override string ToString() => Text;

    internal void ConfigureSilo(ISiloBuilder silo, int siloPort, int gatewayPort, IPAddress advertised)
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = ParallelFlowCluster.ClusterId;
            o.ServiceId = ParallelFlowCluster.ServiceId;
        });
        // A silo killed with SIGKILL is declared dead within seconds, not the defaults' half a minute.
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = TimeSpan.FromSeconds(2);
            o.NumMissedProbesLimit = 2;
            o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
        });
        switch (Kind)
        {
            case ClusterKind.Localhost:
                var primary = siloPort == LocalhostSiloPort ? null : new IPEndPoint(IPAddress.Loopback, LocalhostSiloPort);
                silo.UseLocalhostClustering(siloPort, gatewayPort, primary, ParallelFlowCluster.ServiceId, ParallelFlowCluster.ClusterId);
                break;
            case ClusterKind.Redis or ClusterKind.PostgreSql:
                if (Kind == ClusterKind.Redis)
                {
                    silo.UseRedisClustering(Address);
                }
                else
                {
                    // The first silo of an empty database creates the membership tables, before Orleans reads them.
                    silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(new MembershipInstaller(_connectionString!));
                    silo.UseAdoNetClustering(o =>
                    {
                        o.Invariant = "Npgsql";
                        o.ConnectionString = _connectionString;
                    });
                }

                silo.Configure<EndpointOptions>(o =>
                {
                    o.AdvertisedIPAddress = advertised;
                    o.SiloPort = siloPort;
                    o.GatewayPort = gatewayPort;
                    o.SiloListeningEndpoint = new IPEndPoint(IsLoopback ? IPAddress.Loopback : IPAddress.Any, siloPort);
                    o.GatewayListeningEndpoint = new IPEndPoint(IsLoopback ? IPAddress.Loopback : IPAddress.Any, gatewayPort);
                });
                break;
        }
    }

    internal void ConfigureClient(IClientBuilder client)
    {
        client.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = ParallelFlowCluster.ClusterId;
            o.ServiceId = ParallelFlowCluster.ServiceId;
        });
        // A task may run for hours: the coordinator watches the silos itself instead of timing calls out.
        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromDays(1));
        client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(2));
        switch (Kind)
        {
            case ClusterKind.Localhost:
                client.UseLocalhostClustering(LocalhostGatewayPort, ParallelFlowCluster.ServiceId, ParallelFlowCluster.ClusterId);
                break;
            case ClusterKind.Redis:
                client.UseRedisClustering(Address);
                break;
            case ClusterKind.PostgreSql:
                client.UseAdoNetClustering(o =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = _connectionString;
                });
                break;
        }
    }

    /// <summary>Prepares what a client needs before it starts: a PostgreSQL membership database that no silo has used yet
    /// gets its tables, so that a coordinator started first hears "no silo" rather than a missing table; a Redis server
    /// that does not answer is said so at once, rather than as a client that finds no silo.</summary>
    internal async Task PrepareClientAsync(CancellationToken cancellationToken)
    {
        switch (Kind)
        {
            case ClusterKind.PostgreSql:
                await PostgresMembership.InstallAsync(_connectionString!, cancellationToken).ConfigureAwait(false);
                break;
            case ClusterKind.Redis:
                var colon = Address.LastIndexOf(':');
                using (var probe = new System.Net.Sockets.TcpClient())
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    timeout.CancelAfter(TimeSpan.FromSeconds(5));
                    try
                    {
                        await probe.ConnectAsync(Address[..colon].Trim('[', ']'), int.Parse(Address[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture), timeout.Token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is System.Net.Sockets.SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                    {
                        throw new InvalidOperationException($"the Redis server at {Address} does not answer ({(ex is OperationCanceledException ? "no answer within 5s" : ex.Message)})", ex);
                    }
                }

                break;
        }
    }

    /// <summary>Prepares a PostgreSQL membership database first thing when a silo starts.</summary>
    private sealed class MembershipInstaller(string connectionString) : ILifecycleParticipant<ISiloLifecycle>
    {
        public void Participate(ISiloLifecycle lifecycle) =>
            lifecycle.Subscribe("ParallelFlow.PostgresMembership", ServiceLifecycleStage.First, cancellationToken => PostgresMembership.InstallAsync(connectionString, cancellationToken));
    }
}

/// <summary>Membership providers a cluster can use.</summary>
public enum ClusterKind
{
    /// <summary>Orleans' development clustering on this machine.</summary>
    Localhost,

    /// <summary>A Redis server holds the membership table.</summary>
    Redis,

    /// <summary>A PostgreSQL database holds the membership table.</summary>
    PostgreSql,
}
