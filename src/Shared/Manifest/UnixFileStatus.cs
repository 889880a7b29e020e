using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace MmCluster.Shared.Manifest;

/// <summary>
/// What kind of file a path names, without opening or following it (Linux <c>statx</c> with AT_SYMLINK_NOFOLLOW, whose
/// struct layout is the same on every architecture), and a non-blocking open, so a named pipe can neither be opened
/// by mistake nor block a reader. Elsewhere falls back to <see cref="FileInfo"/>, which cannot tell a pipe from a file.
/// </summary>
internal static class UnixFileStatus
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1;
    private const uint StatxSize = 0x200;
    private const int ONonBlock = 0x800;     // the same on x86-64 and arm64 Linux
    private const int OCloExec = 0x80000;
    private const int ENoEnt = 2;
    private const int ENotDir = 20;

    public enum Kind
    {
        Missing,
        Unreadable,
        Regular,
        Directory,
        SymbolicLink,
        CharacterDevice,
        BlockDevice,
        NamedPipe,
        Socket,
        Other,
    }

    /// <summary>lstat: the kind and size of the path itself (a symbolic link is reported as one, not followed).</summary>
    public static (Kind Kind, long Size, int Errno) LStat(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return ManagedStat(path);
        }
        return statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType | StatxSize, out var status) == 0
            ? (KindOf(status.Mode), (long)status.Size, 0)
            : FromErrno(Marshal.GetLastPInvokeError());
    }

    /// <summary>Opens for reading without blocking on a pipe; then checks the opened file is regular (fstat), returning its size.</summary>
    public static SafeFileHandle OpenRegular(string path, out long size)
    {
        if (!OperatingSystem.IsLinux())
        {
            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            size = RandomAccess.GetLength(handle);
            return handle;
        }
        var fd = open(path, ONonBlock | OCloExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno is ENoEnt or ENotDir
                ? new FileNotFoundException($"no such file (errno {errno})", path)
                : new IOException($"cannot open (errno {errno})");
        }
        var opened = new SafeFileHandle(fd, ownsHandle: true);
        if (statx(fd, "", AtEmptyPath, StatxType | StatxSize, out var status) != 0 || KindOf(status.Mode) != Kind.Regular)
        {
            opened.Dispose();
            throw new IOException("the opened file is not a regular file (replaced since it was checked?)");
        }
        size = (long)status.Size;
        return opened;
    }

    private static Kind KindOf(ushort mode) => (mode & 0xF000) switch
    {
        0x8000 => Kind.Regular,
        0x4000 => Kind.Directory,
        0xA000 => Kind.SymbolicLink,
        0x2000 => Kind.CharacterDevice,
        0x6000 => Kind.BlockDevice,
        0x1000 => Kind.NamedPipe,
        0xC000 => Kind.Socket,
        _ => Kind.Other,
    };

    private static (Kind, long, int) FromErrno(int errno) =>
        (errno is ENoEnt or ENotDir ? Kind.Missing : Kind.Unreadable, 0, errno);

    private static (Kind, long, int) ManagedStat(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            return (Kind.SymbolicLink, 0, 0);
        }
        if (Directory.Exists(path))
        {
            return (Kind.Directory, 0, 0);
        }
        return info.Exists ? (Kind.Regular, info.Length, 0) : (Kind.Missing, 0, ENoEnt);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int statx(int dirfd, string pathname, int flags, uint mask, out Statx statxbuf);

    [DllImport("libc", SetLastError = true)]
    private static extern int open(string pathname, int flags);

    /// <summary>struct statx (linux/stat.h): 256 bytes, only the fields read here.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct Statx
    {
        [FieldOffset(28)]
        public ushort Mode;

        [FieldOffset(40)]
        public ulong Size;
    }
}
