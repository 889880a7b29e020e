using System.IO.MemoryMappedFiles;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// The slots of one same-host edge lane: a file in a tmpfs directory (<c>/dev/shm</c>) mapped by both the receiver, which
/// creates it, and the sender, which opens it after checking the nonce the receiver wrote at its start (proof that both run
/// on the same host and see the same file). The sender copies a chunk's payload into a slot once; the receiver reads it in
/// place (its fused add or copy into the caller's buffer), so a byte costs two memory copies instead of the HTTP/2 stack's
/// user-space copies plus two kernel socket copies. Which slots are free travels on the gRPC stream (see
/// protos/collective.proto), so a ring never needs a lock or a cross-process signal of its own.
/// <para>Layout: page 0 holds the 16-byte nonce; slot i starts at 4096 + i * slotBytes. The file is allocated in full when
/// created (a tmpfs that is too small fails here with an IOException instead of a SIGBUS on first write), is readable only
/// by its user, and is unlinked by the receiver as soon as the sender has answered, so a crash leaves nothing behind.</para>
/// <para>Lifetime: the mapping is released when <see cref="Dispose"/> has been called and every <see cref="Acquire"/> has
/// been matched by a <see cref="Release"/>, so no reader ever touches unmapped memory.</para>
/// </summary>
internal sealed unsafe partial class SharedMemoryRing : IDisposable
{
    public const int HeaderBytes = 4096;
    public const int NonceBytes = 16;

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private int _references = 1;
    private int _disposed;

    private SharedMemoryRing(string path, byte[] nonce, int slots, int slotBytes, MemoryMappedFile file)
    {
        Path = path;
        Nonce = nonce;
        Slots = slots;
        SlotBytes = slotBytes;
        _file = file;
        _view = file.CreateViewAccessor(0, Capacity(slots, slotBytes), MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + _view.PointerOffset;
    }

    public string Path { get; }

    public byte[] Nonce { get; }

    public int Slots { get; }

    public int SlotBytes { get; }

    public static long Capacity(int slots, int slotBytes)
    {
        return HeaderBytes + (long)slots * slotBytes;
    }

    /// <summary>
    /// The receiver's side: creates, allocates and maps a new ring in <paramref name="directory"/>, with a random name and
    /// nonce. Throws IOException (no such directory, no space) or UnauthorizedAccessException; the caller then offers nothing.
    /// </summary>
    public static SharedMemoryRing Create(string directory, int slots, int slotBytes)
    {
        var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
        var path = System.IO.Path.Combine(directory, $"mmcluster-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}.ring");
        var capacity = Capacity(slots, slotBytes);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite,
            PreallocationSize = capacity,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        var stream = new FileStream(path, options);
        try
        {
            stream.SetLength(capacity);
            stream.Write(nonce);
            stream.Flush();
            var file = MemoryMappedFile.CreateFromFile(stream, null, capacity, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            return new SharedMemoryRing(path, nonce, slots, slotBytes, file);
        }
        catch
        {
            stream.Dispose();
            File.Delete(path);
            throw;
        }
    }

    /// <summary>
    /// The sender's side: maps the ring a receiver offered, or returns why it cannot (then the lane stays inline). Only a file
    /// of the ring's name pattern directly in <paramref name="directory"/>, of the offered size and starting with the nonce.
    /// </summary>
    public static SharedMemoryRing? TryOpen(string directory, string path, string nonceHex, int slots, int slotBytes, out string refusal)
    {
        if (System.IO.Path.GetDirectoryName(path) != System.IO.Path.TrimEndingDirectorySeparator(directory) || !RingName().IsMatch(System.IO.Path.GetFileName(path)))
        {
            refusal = $"'{path}' is not a ring file in {directory}";
            return null;
        }
        if (slots < 1 || slotBytes < 1024 || slotBytes % sizeof(float) != 0)
        {
            refusal = $"{slots} slots of {slotBytes} bytes is not a valid ring";
            return null;
        }
        byte[] nonce;
        try
        {
            nonce = Convert.FromHexString(nonceHex);
        }
        catch (FormatException)
        {
            refusal = "the nonce is not hex";
            return null;
        }
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            refusal = $"cannot open {path} (another host, or another /dev/shm): {e.GetType().Name}";
            return null;
        }
        try
        {
            var expected = Capacity(slots, slotBytes);
            var length = stream.Length;
            var head = new byte[NonceBytes];
            if (length != expected || stream.Read(head) != NonceBytes || !CryptographicOperations.FixedTimeEquals(head, nonce))
            {
                stream.Dispose();
                refusal = $"{path} is not the offered ring (size {length}, expected {expected}, or another nonce)";
                return null;
            }
            var file = MemoryMappedFile.CreateFromFile(stream, null, expected, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            refusal = "";
            return new SharedMemoryRing(path, nonce, slots, slotBytes, file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stream.Dispose();
            refusal = $"cannot map {path}: {e.Message}";
            return null;
        }
    }

    /// <summary>The bytes of slot <paramref name="slot"/>, <paramref name="length"/> long; the caller holds a reference.</summary>
    public Span<byte> Slot(int slot, int length)
    {
        if ((uint)slot >= (uint)Slots || (uint)length > (uint)SlotBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(slot), $"slot {slot} of {Slots}, {length} of {SlotBytes} bytes");
        }
        return new Span<byte>(_base + HeaderBytes + (long)slot * SlotBytes, length);
    }

    /// <summary>Keeps the mapping alive while a received chunk still points into it; false once it is released.</summary>
    public bool Acquire()
    {
        while (true)
        {
            var current = Volatile.Read(ref _references);
            if (current == 0)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _references, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }

    /// <summary>Removes the file name (the mapping stays valid); idempotent.</summary>
    public void Unlink()
    {
        try
        {
            File.Delete(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Already gone, or the directory went read-only: nothing more to do.
        }
    }

    /// <summary>Drops the owner's reference; the memory is unmapped once no chunk uses it any more.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Release();
        }
    }

    [GeneratedRegex("^mmcluster-[0-9a-f]{32}\\.ring$")]
    private static partial Regex RingName();
}
