using System.Buffers.Binary;
using System.Text;
using MmCluster.Shared.Manifest.Import;
using SkiaSharp;

namespace MmCluster.Shared.Tests.Manifest;

/// <summary>Broken and hostile encoded images, built from real encodings at test time (no checked-in binaries).</summary>
internal static class HostileImages
{
    /// <summary>A gray PNG with a noisy body (so its IDAT holds real deflate data).</summary>
    public static byte[] Png(int width, int height)
    {
        var pixels = new byte[width * height];
        new Random(width * 31 + height).NextBytes(pixels);
        return GrayPng.Encode(pixels, width, height);
    }

    public static byte[] Jpeg(int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var random = new Random(width + height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)(x * 4), (byte)(y * 4)));
            }
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    /// <summary>The first <paramref name="fraction"/> of the bytes: a valid header, a body that ends early.</summary>
    public static byte[] Truncated(byte[] encoded, double fraction = 0.6) => encoded[..(int)(encoded.Length * fraction)];

    /// <summary>
    /// Flips bytes in the middle of the first IDAT chunk's data; with <paramref name="fixCrc"/> the chunk's CRC is
    /// recomputed, so only the deflate stream itself is damaged.
    /// </summary>
    public static byte[] WithDamagedIdat(byte[] png, bool fixCrc)
    {
        var copy = (byte[])png.Clone();
        var (offset, length) = FindChunk(copy, "IDAT");
        for (var i = length / 3; i < 2 * length / 3; i += 3)
        {
            copy[offset + 8 + i] ^= 0x5A;
        }
        if (fixCrc)
        {
            WriteCrc(copy, offset, length);
        }
        return copy;
    }

    /// <summary>The PNG with its IHDR rewritten (CRC fixed) to claim another size: an image bomb's header on a tiny body.</summary>
    public static byte[] ClaimingSize(byte[] png, int width, int height)
    {
        var copy = (byte[])png.Clone();
        var (offset, length) = FindChunk(copy, "IHDR");
        BinaryPrimitives.WriteInt32BigEndian(copy.AsSpan(offset + 8), width);
        BinaryPrimitives.WriteInt32BigEndian(copy.AsSpan(offset + 12), height);
        WriteCrc(copy, offset, length);
        return copy;
    }

    private static (int Offset, int Length) FindChunk(byte[] png, string type)
    {
        for (var offset = 8; offset + 8 <= png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            if (Encoding.ASCII.GetString(png, offset + 4, 4) == type)
            {
                return (offset, length);
            }
            offset += 12 + length;
        }
        throw new InvalidOperationException($"no {type} chunk");
    }

    private static void WriteCrc(byte[] png, int offset, int length) =>
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(offset + 8 + length), Crc32(png.AsSpan(offset + 4, 4 + length)));

    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }
        return ~crc;
    }
}
