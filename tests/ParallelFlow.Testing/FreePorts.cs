using System.Net;
using System.Net.Sockets;

namespace ParallelFlow.Testing;

/// <summary>Ports for the servers tests start: on 127.0.0.1, free when asked.</summary>
public static class FreePorts
{
    /// <summary>A port nothing listens on now, on 127.0.0.1.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
