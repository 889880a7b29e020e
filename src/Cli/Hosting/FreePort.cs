using System.Net;
using System.Net.Sockets;

namespace MmCluster.Cli.Hosting;

/// <summary>Asks the OS for a free TCP port on loopback (for the dev cluster's coordinator, dashboard and workers).</summary>
internal static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Whether <paramref name="port"/> can be listened on now (e.g. again, after the child that held it died).</summary>
    public static bool IsFree(int port)
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
}
