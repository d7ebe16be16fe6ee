using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;

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

        if (trimmed.Contains("Host=", StringComparison.OrdinalIgnoreCase) || trimmed.Contains("Server=", StringComparison.OrdinalIgnoreCase))
        {
            Npgsql.NpgsqlConnectionStringBuilder builder;
            try
            {
                builder = new Npgsql.NpgsqlConnectionStringBuilder(trimmed);
            }
            catch (ArgumentException ex)
            {
                // The text may hold a password: it is not repeated.
                throw new FormatException($"the PostgreSQL connection string is not valid ({ex.Message}); write Host=HOST;Port=5432;Database=NAME;Username=USER, with the password in PGPASSWORD", ex);
            }

            if (string.IsNullOrEmpty(builder.Host))
            {
                throw new FormatException("the PostgreSQL connection string names no Host=");
            }

            return new ClusterConnection(ClusterKind.PostgreSql, $"{builder.Host}:{builder.Port}", PostgresMembership.Shown(trimmed), trimmed);
        }

        throw new FormatException($"'{text}' is not a cluster connection: write redis://HOST:PORT (a Redis server holds the membership), Host=HOST;Database=NAME (a PostgreSQL database does), or localhost (one machine, for a try-out)");
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
                client.Services.AddSingleton<ILifecycleParticipant<IClusterClientLifecycle>>(new MembershipInstaller(_connectionString!));
                client.UseAdoNetClustering(o =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = _connectionString;
                });
                break;
        }
    }

    /// <summary>Prepares a PostgreSQL membership database first thing when a silo or a client starts.</summary>
    private sealed class MembershipInstaller(string connectionString) : ILifecycleParticipant<ISiloLifecycle>, ILifecycleParticipant<IClusterClientLifecycle>
    {
        public void Participate(ISiloLifecycle lifecycle) => Subscribe(lifecycle);

        public void Participate(IClusterClientLifecycle lifecycle) => Subscribe(lifecycle);

        private void Subscribe(ILifecycleObservable lifecycle) =>
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
