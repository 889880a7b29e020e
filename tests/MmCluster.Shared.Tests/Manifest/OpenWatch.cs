using System.Runtime.InteropServices;

namespace MmCluster.Shared.Tests.Manifest;

/// <summary>
/// Proves a file was never opened: Linux inotify reports every open and read of a watched file, whoever does it (the
/// tests run as root, which ignores file permissions, so an unreadable decoy would prove nothing).
/// </summary>
internal sealed class OpenWatch : IDisposable
{
    private const int InNonBlock = 0x800;
    private const uint InAccess = 0x1;
    private const uint InOpen = 0x20;
    private readonly int fd;

    public OpenWatch(params string[] paths)
    {
        fd = inotify_init1(InNonBlock);
        if (fd < 0)
        {
            throw new IOException($"inotify_init1 failed (errno {Marshal.GetLastPInvokeError()})");
        }
        foreach (var path in paths)
        {
            if (inotify_add_watch(fd, path, InOpen | InAccess) < 0)
            {
                throw new IOException($"inotify_add_watch {path} failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
    }

    /// <summary>True when a watched file has been opened or read since the watch began.</summary>
    public bool SawOpen()
    {
        var buffer = new byte[4096];
        return read(fd, buffer, buffer.Length) > 0;
    }

    public void Dispose() => close(fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int inotify_init1(int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int inotify_add_watch(int fd, string pathname, uint mask);

    [DllImport("libc", SetLastError = true)]
    private static extern nint read(int fd, byte[] buffer, nint count);

    [DllImport("libc")]
    private static extern int close(int fd);
}
