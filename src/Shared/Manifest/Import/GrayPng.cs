using SkiaSharp;

namespace MmCluster.Shared.Manifest.Import;

/// <summary>Encodes 8-bit grayscale pixels (row-major) as PNG with SkiaSharp.</summary>
public static class GrayPng
{
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height)
    {
        if (pixels.Length != width * height)
        {
            throw new ArgumentException($"{pixels.Length} pixels do not make a {width}x{height} image", nameof(pixels));
        }
        var info = new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        var stride = bitmap.RowBytes;
        var target = bitmap.GetPixelSpan();
        for (var y = 0; y < height; y++)
        {
            pixels.Slice(y * width, width).CopyTo(target.Slice(y * stride, width));
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
