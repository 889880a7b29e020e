using System.Runtime.InteropServices;
using SkiaSharp;

namespace MmCluster.Shared.Manifest;

/// <summary>
/// Decides whether encoded bytes are an image a worker can train on, with bounded work: the header's pixel count is
/// checked against a budget before any pixel is decoded, and the whole body is then decoded (one row at a time, so
/// the check allocates one scanline; a JPEG at 1/8 scale) and accepted only when SkiaSharp's decoder reports Success,
/// so an image whose data is damaged or ends early is refused, not trained on.
/// </summary>
public static class ImageCheck
{
    /// <summary>Null when the image is acceptable; otherwise the reason, with what was found in <paramref name="detail"/>.</summary>
    public static RowSkipReason? Check(ReadOnlySpan<byte> encoded, long maxPixels, out string detail)
    {
        using var data = SKData.CreateCopy(encoded);
        using var codec = Open(data, encoded.Length, maxPixels, out var refused, out detail);
        if (codec is null)
        {
            return refused;
        }
        var scaled = codec.GetScaledDimensions(1f / 8);
        if (scaled.Width < codec.Info.Width)
        {
            // JPEG decodes at 1/8 scale (DCT scaling): every byte of the body is still decoded, at less than half the cost.
            var small = new SKImageInfo(scaled.Width, scaled.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
            using var bitmap = new SKBitmap(small);
            return Refusal(codec.GetPixels(small, bitmap.GetPixels()), codec, out detail);
        }
        var info = Target(codec);
        if (codec.StartScanlineDecode(info) != SKCodecResult.Success)
        {
            using var whole = new SKBitmap(info);
            return Refusal(codec.GetPixels(info, whole.GetPixels()), codec, out detail);
        }
        var row = Marshal.AllocHGlobal(info.RowBytes);
        try
        {
            for (var y = 0; y < info.Height; y++)
            {
                if (codec.GetScanlines(row, 1, info.RowBytes) != 1)
                {
                    detail = $"{Describe(codec)}: the data is damaged or ends early at row {y}";
                    return RowSkipReason.ImageUndecodable;
                }
            }
        }
        finally
        {
            Marshal.FreeHGlobal(row);
        }
        detail = "";
        return null;
    }

    /// <summary>
    /// Decodes the whole image at its own size, or throws <see cref="InvalidDataException"/> naming <paramref name="what"/>
    /// when it is not an image, claims more than <paramref name="maxPixels"/> pixels, or does not decode completely.
    /// </summary>
    public static SKBitmap Decode(ReadOnlySpan<byte> encoded, long maxPixels, string what)
    {
        using var data = SKData.CreateCopy(encoded);
        using var codec = OpenCodec(data, maxPixels, what);
        var info = Target(codec);
        var bitmap = new SKBitmap(info);
        try
        {
            EnsureComplete(codec.GetPixels(info, bitmap.GetPixels()), codec, what);
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
        return bitmap;
    }

    /// <summary>
    /// The codec of <paramref name="data"/> with only its header read, or <see cref="InvalidDataException"/> naming
    /// <paramref name="what"/> when it is not an image or claims more than <paramref name="maxPixels"/> pixels; for callers
    /// that decode at a size of their choosing (a JPEG at 1/8) and then call <see cref="EnsureComplete"/>.
    /// </summary>
    public static SKCodec OpenCodec(SKData data, long maxPixels, string what) =>
        Open(data, (int)data.Size, maxPixels, out var reason, out var detail)
            ?? throw new InvalidDataException($"Image of {what} refused, {reason}: {detail}.");

    /// <summary>Throws <see cref="InvalidDataException"/> naming <paramref name="what"/> unless the decoder reported Success.</summary>
    public static void EnsureComplete(SKCodecResult result, SKCodec codec, string what)
    {
        if (Refusal(result, codec, out var detail) is { } refused)
        {
            throw new InvalidDataException($"Image of {what} refused, {refused}: {detail}.");
        }
    }

    private static SKCodec? Open(SKData data, int length, long maxPixels, out RowSkipReason reason, out string detail)
    {
        reason = RowSkipReason.ImageUndecodable;
        if (length == 0)
        {
            detail = "0 bytes";
            return null;
        }
        var codec = SKCodec.Create(data);
        if (codec is null)
        {
            detail = $"{length} bytes are not a PNG or JPEG SkiaSharp can decode";
            return null;
        }
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width < 1 || height < 1)
        {
            detail = $"{Describe(codec)} has no pixels";
        }
        else if ((long)width * height > maxPixels)
        {
            (reason, detail) = (RowSkipReason.ImageTooManyPixels, $"{Describe(codec)} claims {(long)width * height} pixels, over the budget of {maxPixels}");
        }
        else
        {
            detail = "";
            return codec;
        }
        codec.Dispose();
        return null;
    }

    private static SKImageInfo Target(SKCodec codec) => new(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Premul);

    private static RowSkipReason? Refusal(SKCodecResult result, SKCodec codec, out string detail)
    {
        detail = result == SKCodecResult.Success ? "" : $"{Describe(codec)}: the decoder reports {result}";
        return result == SKCodecResult.Success ? null : RowSkipReason.ImageUndecodable;
    }

    private static string Describe(SKCodec codec) => $"{codec.EncodedFormat} {codec.Info.Width}x{codec.Info.Height}";
}
