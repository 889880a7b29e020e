using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace MmCluster.Shared.Tests.Manifest;

/// <summary>Named pipes and sockets for the hostile corpus, made at test time.</summary>
internal static class SpecialFiles
{
    public static void MakeFifo(string path)
    {
        if (mkfifo(path, 0b110_100_100) != 0)
        {
            throw new IOException($"mkfifo {path} failed (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    /// <summary>A listening Unix domain socket bound at <paramref name="path"/>; dispose to close it.</summary>
    public static Socket MakeSocket(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        socket.Listen();
        return socket;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string pathname, uint mode);
}
