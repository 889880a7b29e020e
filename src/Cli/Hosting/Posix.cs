using System.Runtime.InteropServices;

namespace MmCluster.Cli.Hosting;

/// <summary>
/// POSIX signals to children: SIGTERM so a child leaves the cluster gracefully (Process.Kill sends SIGKILL), and the
/// chaos tools' SIGKILL, SIGSTOP and SIGCONT (numbered as on Linux, or macOS where they differ).
/// </summary>
internal static partial class Posix
{
    private const int SigKill = 9;
    private const int SigTerm = 15;

    private static int SigStop => OperatingSystem.IsMacOS() ? 17 : 19;

    private static int SigCont => OperatingSystem.IsMacOS() ? 19 : 18;

    public static void Terminate(int pid) => Signal(pid, SigTerm);

    /// <summary>SIGKILL; false when the signal could not be sent (no such process).</summary>
    public static bool Kill(int pid) => Signal(pid, SigKill);

    /// <summary>SIGSTOP: the process freezes until <see cref="Continue"/>.</summary>
    public static bool Stop(int pid) => Signal(pid, SigStop);

    /// <summary>SIGCONT: a stopped process runs again.</summary>
    public static bool Continue(int pid) => Signal(pid, SigCont);

    /// <summary>
    /// The name of the signal an exit code stands for (.NET reports a process a signal ended as 128 + the signal, as
    /// shells do), or null for an ordinary exit code.
    /// </summary>
    public static string? SignalOf(int exitCode) => exitCode switch
    {
        128 + 1 => "SIGHUP",
        128 + 2 => "SIGINT",
        128 + 3 => "SIGQUIT",
        128 + 4 => "SIGILL",
        128 + 6 => "SIGABRT",
        128 + 7 when !OperatingSystem.IsMacOS() => "SIGBUS",
        128 + 8 => "SIGFPE",
        128 + SigKill => "SIGKILL",
        128 + 11 => "SIGSEGV",
        128 + 13 => "SIGPIPE",
        128 + 14 => "SIGALRM",
        128 + SigTerm => "SIGTERM",
        > 128 and < 128 + 65 => $"signal {exitCode - 128}",
        _ => null,
    };

    /// <summary>How a child ended, for one console line: <c>SIGKILL</c> or <c>exit code 1</c>.</summary>
    public static string DescribeExit(int exitCode) => SignalOf(exitCode) ?? $"exit code {exitCode}";

    private static bool Signal(int pid, int signal) => !OperatingSystem.IsWindows() && kill(pid, signal) == 0;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
