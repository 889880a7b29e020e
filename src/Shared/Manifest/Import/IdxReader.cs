using System.Buffers.Binary;
using System.IO.Compression;

namespace MmCluster.Shared.Manifest.Import;

/// <summary>
/// Reads IDX files (http://yann.lecun.com/exdb/mnist/ format; MNIST, Fashion-MNIST), gzipped or not: magic
/// <c>00 00 08 03</c> for images and <c>00 00 08 01</c> for labels, big-endian dimensions, unsigned bytes.
/// Malformed input throws <see cref="ManifestException"/> naming the file.
/// </summary>
public static class IdxReader
{
    private const byte UnsignedByte = 0x08;

    public static IdxImages ReadImages(string path)
    {
        var (dims, data) = Read(path, expectedDims: 3, "images");
        return new IdxImages(dims[0], dims[1], dims[2], data);
    }

    public static byte[] ReadLabels(string path) => Read(path, expectedDims: 1, "labels").Data;

    private static (int[] Dims, byte[] Data) Read(string path, int expectedDims, string what)
    {
        if (!File.Exists(path))
        {
            throw new ManifestException($"IDX {what} file not found", path);
        }
        using var file = File.OpenRead(path);
        using var stream = IsGzip(file) ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        try
        {
            Span<byte> magic = stackalloc byte[4];
            stream.ReadExactly(magic);
            if (magic[0] != 0 || magic[1] != 0)
            {
                throw new ManifestException($"not an IDX file (magic {Convert.ToHexString(magic)}, expected 0000{UnsignedByte:X2}{expectedDims:X2})", path);
            }
            if (magic[2] != UnsignedByte)
            {
                throw new ManifestException($"IDX data type 0x{magic[2]:X2} is not supported (only unsigned bytes, 0x08)", path);
            }
            if (magic[3] != expectedDims)
            {
                throw new ManifestException($"IDX file has {magic[3]} dimensions, expected {expectedDims} for {what} (magic 0000{UnsignedByte:X2}{expectedDims:X2})", path);
            }
            var dims = new int[expectedDims];
            Span<byte> dim = stackalloc byte[4];
            var total = 1L;
            for (var i = 0; i < dims.Length; i++)
            {
                stream.ReadExactly(dim);
                dims[i] = BinaryPrimitives.ReadInt32BigEndian(dim);
                if (dims[i] <= 0)
                {
                    throw new ManifestException($"IDX dimension {i} is {dims[i]}", path);
                }
                total *= dims[i];
            }
            if (total > Array.MaxLength)
            {
                throw new ManifestException($"IDX {what} hold {total} bytes, more than one array can", path);
            }
            var data = new byte[total];
            stream.ReadExactly(data);
            return (dims, data);
        }
        catch (EndOfStreamException e)
        {
            throw new ManifestException($"truncated IDX {what} file (ends before the data its header announces)", path, inner: e);
        }
        catch (InvalidDataException e)
        {
            throw new ManifestException($"corrupt gzip stream ({e.Message})", path, inner: e);
        }
    }

    private static bool IsGzip(FileStream file)
    {
        Span<byte> head = stackalloc byte[2];
        var read = file.Read(head);
        file.Seek(0, SeekOrigin.Begin);
        return read == 2 && head[0] == 0x1F && head[1] == 0x8B;
    }
}
