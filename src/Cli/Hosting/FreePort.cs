using System.Net;
using System.Net.Sockets;

namespace MmCluster.Cli.Hosting;

/// <summary>Asks the OS for a free TCP port on loopback (for the dev cluster's coordinator and dashboard).</summary>
internal static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
