using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Orleans;

/// <summary>Starts ParallelFlow silos and connects coordinators to them.</summary>
public static class ParallelFlowCluster
{
    /// <summary>The Orleans cluster id every ParallelFlow silo and coordinator uses.</summary>
    public const string ClusterId = "parallelflow";

    /// <summary>The Orleans service id.</summary>
    public const string ServiceId = "parallelflow";

    /// <summary>Makes a silo execute ParallelFlow tasks: its worker catalog (built-in workers, its plugins.json), its
    /// slots, the grain that runs attempts on it, and trace propagation from coordinators.</summary>
    /// <param name="silo">The silo.</param>
    /// <param name="configure">The silo's plugins and slots.</param>
    /// <returns>The silo.</returns>
    public static ISiloBuilder AddParallelFlowWorkers(this ISiloBuilder silo, Action<ParallelFlowSiloOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.Services.AddOptions<ParallelFlowSiloOptions>().Configure(o => configure?.Invoke(o));
        silo.Services.AddSingleton<SiloWorkers>();
        silo.AddPlacementDirector<OnSiloPlacementStrategy, OnSiloPlacementDirector>();
        silo.AddActivityPropagation();
        return silo;
    }

    /// <summary>Builds a silo host on this machine: the connection's clustering, the silo and gateway ports (free
    /// ones when 0; localhost clustering takes 11111/30000 for its first silo, the primary), and
    /// <see cref="AddParallelFlowWorkers"/>.</summary>
    /// <param name="connection">The cluster.</param>
    /// <param name="configure">The silo's plugins and slots.</param>
    /// <param name="siloPort">The port silos talk on; 0 picks one.</param>
    /// <param name="gatewayPort">The port coordinators connect to; 0 picks one.</param>
    /// <param name="advertise">The address other members reach this silo at; loopback for a loopback cluster, else this machine's first IPv4 address.</param>
    /// <param name="logging">Configures the host's logging.</param>
    /// <returns>The host, not started.</returns>
    public static IHost BuildSilo(ClusterConnection connection, Action<ParallelFlowSiloOptions>? configure, int siloPort = 0, int gatewayPort = 0, IPAddress? advertise = null, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection.Kind == ClusterKind.Localhost)
        {
            // The first silo is the primary, on the well-known ports; the others pick free ones.
            if (siloPort == 0)
            {
                siloPort = IsFree(ClusterConnection.LocalhostSiloPort) && IsFree(ClusterConnection.LocalhostGatewayPort) ? ClusterConnection.LocalhostSiloPort : FreePort();
            }

            if (gatewayPort == 0)
            {
                gatewayPort = siloPort == ClusterConnection.LocalhostSiloPort ? ClusterConnection.LocalhostGatewayPort : FreePort();
            }
        }

        siloPort = siloPort == 0 ? FreePort() : siloPort;
        gatewayPort = gatewayPort == 0 ? FreePort() : gatewayPort;
        advertise ??= connection.IsLoopback ? IPAddress.Loopback : MachineAddress();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.UseOrleans(silo =>
        {
            connection.ConfigureSilo(silo, siloPort, gatewayPort, advertise);
            silo.AddParallelFlowWorkers(configure);
        });
        return builder.Build();
    }

    /// <summary>Connects to a cluster as a coordinator: an Orleans client and the <see cref="ClusterDispatcher"/> over
    /// it, which has learnt the silos (waiting up to <paramref name="waitForSilos"/> for a first one).</summary>
    /// <param name="connection">The cluster.</param>
    /// <param name="options">Timeouts and probes.</param>
    /// <param name="waitForSilos">How long to wait for a first silo.</param>
    /// <param name="logging">Configures the client's logging.</param>
    /// <param name="cancellationToken">Stops the connection attempt.</param>
    /// <returns>The connection; dispose it to disconnect.</returns>
    public static async Task<ClusterSession> ConnectAsync(ClusterConnection connection, ClusterDispatchOptions? options, TimeSpan waitForSilos, Action<ILoggingBuilder>? logging, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.UseOrleansClient(client =>
        {
            connection.ConfigureClient(client);
            client.AddActivityPropagation();
        });
        var host = builder.Build();
        try
        {
            await connection.PrepareClientAsync(cancellationToken).ConfigureAwait(false);
            // A cluster with no silo has no gateway: the client would look for one for ever.
            using (var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                connect.CancelAfter(waitForSilos);
                try
                {
                    await host.StartAsync(connect.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"no silo answered within {waitForSilos.TotalSeconds:0}s");
                }
            }

            var dispatcher = new ClusterDispatcher(host.Services.GetRequiredService<IClusterClient>(), options, host.Services.GetRequiredService<ILoggerFactory>());
            await dispatcher.StartAsync(waitForSilos, cancellationToken).ConfigureAwait(false);
            return new ClusterSession(host, dispatcher);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>Runs the plans of the host's <c>AddParallelFlow</c> on a cluster: an Orleans client of it in the host,
    /// and its <see cref="ClusterDispatcher"/> as every run's <see cref="RunOptions.Dispatcher"/>.</summary>
    /// <param name="services">The host's services, after <c>AddParallelFlow</c>.</param>
    /// <param name="connection"><c>redis://HOST:PORT</c> or <c>localhost</c>.</param>
    /// <param name="options">Timeouts and probes.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection UseOrleansCluster(this IServiceCollection services, string connection, ClusterDispatchOptions? options = null)
    {
        var cluster = ClusterConnection.Parse(connection);
        // Before the client's own start (hosted services start in the order they were added).
        services.AddHostedService(_ => new ClusterPreparer(cluster));
        services.AddOrleansClient(client =>
        {
            cluster.ConfigureClient(client);
            client.AddActivityPropagation();
        });
        services.AddSingleton(provider => new ClusterDispatcher(provider.GetRequiredService<IClusterClient>(), options, provider.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<ITaskDispatcher>(provider => provider.GetRequiredService<ClusterDispatcher>());
        services.AddHostedService<DispatcherService>();
        return services;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static IPAddress MachineAddress() =>
        Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a)) ?? IPAddress.Loopback;

    /// <summary>Prepares what the cluster client needs before it starts (see <see cref="ClusterConnection.PrepareClientAsync"/>).</summary>
    private sealed class ClusterPreparer(ClusterConnection cluster) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => cluster.PrepareClientAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Starts the dispatcher's probes once the host's cluster client is connected.</summary>
    private sealed class DispatcherService(ClusterDispatcher dispatcher) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => dispatcher.StartAsync(TimeSpan.FromSeconds(10), cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => dispatcher.DisposeAsync().AsTask();
    }
}

/// <summary>A coordinator's connection to a cluster.</summary>
public sealed class ClusterSession : IAsyncDisposable
{
    private readonly IHost _host;

    internal ClusterSession(IHost host, ClusterDispatcher dispatcher)
    {
        _host = host;
        Dispatcher = dispatcher;
    }

    /// <summary>Dispatches runs' attempts to the cluster's silos.</summary>
    public ClusterDispatcher Dispatcher { get; }

    /// <summary>Stops probing and disconnects.</summary>
    /// <returns>When disconnected.</returns>
    public async ValueTask DisposeAsync()
    {
        await Dispatcher.DisposeAsync().ConfigureAwait(false);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _host.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        finally
        {
            _host.Dispose();
        }
    }
}
