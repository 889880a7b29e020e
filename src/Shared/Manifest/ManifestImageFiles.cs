namespace MmCluster.Shared.Manifest;

/// <summary>
/// Loads the image files of a by-path manifest, keeping them inside it. An <c>image_path</c> is resolved the way the
/// kernel would (<c>..</c>, absolute paths, and every symbolic link on the way, directories included) and is read only
/// when the result lies inside the manifest folder or the image root (both resolved too), names a regular file (no
/// device, pipe, socket or directory) and is no larger than the byte limit. All of that is checked before the file is
/// opened; a refused path is never opened. The open does not block on a pipe swapped in after the check, and the read
/// stops at the limit whatever the file claims.
/// </summary>
internal sealed class ManifestImageFiles
{
    private const int MaxLinkHops = 40;   // Linux MAXSYMLINKS
    private readonly string _imageRoot;
    private readonly string[] _roots;
    private readonly long _maxBytes;

    public ManifestImageFiles(string folder, string imageRoot, long maxBytes)
    {
        _imageRoot = imageRoot;
        _roots = [.. new[] { folder, imageRoot }.Select(r => WithSeparator(RealPath(r) ?? r)).Distinct()];
        _maxBytes = maxBytes;
    }

    /// <summary>The encoded bytes, or null with the reason and what was found.</summary>
    public byte[]? Load(string? imagePath, out RowSkipReason reason, out string detail)
    {
        reason = default;
        if (string.IsNullOrEmpty(imagePath))
        {
            (reason, detail) = (RowSkipReason.MissingImage, "no image_path");
            return null;
        }
        if (imagePath.Contains('\0'))
        {
            (reason, detail) = (RowSkipReason.ImageFileMissing, "image_path holds a NUL character");
            return null;
        }
        var real = RealPath(Path.Combine(_imageRoot, imagePath));
        if (real is null)
        {
            (reason, detail) = (RowSkipReason.ImageFileUnreadable, $"'{imagePath}': more than {MaxLinkHops} symbolic links (a loop?)");
            return null;
        }
        if (!_roots.Any(root => real.StartsWith(root, StringComparison.Ordinal)))
        {
            (reason, detail) = (RowSkipReason.PathOutsideManifest, $"'{imagePath}' resolves to {real}, outside {string.Join(" and ", _roots)}");
            return null;
        }
        var (kind, size, errno) = UnixFileStatus.LStat(real);
        (var refused, detail) = kind switch
        {
            UnixFileStatus.Kind.Missing => (RowSkipReason.ImageFileMissing, $"'{imagePath}': no such file"),
            UnixFileStatus.Kind.Unreadable => (RowSkipReason.ImageFileUnreadable, $"'{imagePath}': cannot stat (errno {errno})"),
            UnixFileStatus.Kind.Regular when size > _maxBytes => (RowSkipReason.ImageTooLarge, $"'{imagePath}': {size} bytes, over the limit of {_maxBytes}"),
            UnixFileStatus.Kind.Regular => ((RowSkipReason?)null, ""),
            _ => (RowSkipReason.NotARegularFile, $"'{imagePath}' is a {kind}, not a regular file"),
        };
        if (refused is not null)
        {
            reason = refused.Value;
            return null;
        }
        try
        {
            return Read(real, imagePath, out reason, out detail);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            (reason, detail) = (e is FileNotFoundException ? RowSkipReason.ImageFileMissing : RowSkipReason.ImageFileUnreadable, $"'{imagePath}': {e.Message}");
            return null;
        }
    }

    /// <summary>
    /// realpath(3) in managed code: every component resolved, symbolic links followed wherever they are, <c>..</c>
    /// applied to the resolved parent. Components that do not exist are kept as written. Null after too many links.
    /// </summary>
    internal static string? RealPath(string path)
    {
        var full = Path.IsPathRooted(path) ? path : Path.Join(Environment.CurrentDirectory, path);   // not GetFullPath: '..' must follow links
        var pending = new Stack<string>();
        Push(pending, full);
        var current = Path.GetPathRoot(full)!;
        var hops = 0;
        while (pending.TryPop(out var part))
        {
            if (part is "" or ".")
            {
                continue;
            }
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }
            var next = Path.Join(current, part);
            var target = LinkTarget(next);
            if (target is null)
            {
                current = next;
                continue;
            }
            if (++hops > MaxLinkHops)
            {
                return null;
            }
            if (Path.IsPathRooted(target))
            {
                current = Path.GetPathRoot(target)!;
            }
            Push(pending, target);
        }
        return current;
    }

    private byte[]? Read(string real, string imagePath, out RowSkipReason reason, out string detail)
    {
        using var handle = UnixFileStatus.OpenRegular(real, out var size);
        if (size > _maxBytes)
        {
            (reason, detail) = (RowSkipReason.ImageTooLarge, $"'{imagePath}': {size} bytes, over the limit of {_maxBytes}");
            return null;
        }
        var bytes = new byte[size];
        var read = 0;
        while (read < bytes.Length)
        {
            var n = RandomAccess.Read(handle, bytes.AsSpan(read), read);
            if (n == 0)
            {
                throw new IOException($"ended after {read} of {size} bytes");
            }
            read += n;
        }
        (reason, detail) = (default, "");
        return bytes;
    }

    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;   // not a directory on the way, or no permission: the stat that follows says which
        }
    }

    private static void Push(Stack<string> pending, string path)
    {
        var parts = path.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]);
        for (var i = parts.Length - 1; i >= 0; i--)
        {
            pending.Push(parts[i]);
        }
    }

    private static string WithSeparator(string root) =>
        root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
}
