using System.Runtime.InteropServices;

namespace MmCluster.Cli.Hosting;

/// <summary>SIGTERM to a child, so it leaves the cluster gracefully (Process.Kill sends SIGKILL).</summary>
internal static partial class Posix
{
    private const int SigTerm = 15;

    public static void Terminate(int pid)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        _ = kill(pid, SigTerm);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
